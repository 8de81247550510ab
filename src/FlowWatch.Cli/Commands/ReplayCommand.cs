using System.Text.Json;
using FlowWatch.Api;
using FlowWatch.Cli.CommandLine;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Pipeline;
using FlowWatch.Replay;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch replay</c>: recorded flows through every detector, in the flows' own time.</summary>
public static class ReplayCommand
{
    /// <summary>Exit code when a file yielded no flow at all (empty, every line bad, unreadable).</summary>
    public const int NothingRead = 2;

    /// <summary>Exit code when a finding reached the <c>--fail-on</c> severity.</summary>
    public const int FindingsFailed = 3;

    public static readonly CommandSpec Spec = new("replay",
        "run recorded flows through the detectors in event time and report what they found",
        "FILE [FILE ...] [options]",
        [
            new("format", "Report as text or json (one entry per finding, snake_case as /api/v1/findings).", "text|json", "text"),
            new("each", "Replay every FILE on its own timeline and report each; without it the FILEs are merged by event time into one incident."),
            new("fail-on", "Exit 3 if any finding of this severity or worse was raised (gates CI on recorded incidents).", "warning|critical"),
            new("drain", "Event time to run past the last flow so pending timeouts fire.", "DURATION", "30s"),
            new("quiet", "No progress lines, only the report."),
            .. EventTimeFlags.Options,
            ClusterFlag.Option,
            new("serve", "After the replay, keep serving the query API and /metrics on --listen until SIGTERM, so flowwatch flows|findings|health|backends --server ask about the recording."),
            new("listen", "Address --serve listens on (127.0.0.1:0 picks a free port; the address is printed).", "HOST:PORT", "127.0.0.1:9090"),
            .. DetectorFlags.Options,
        ],
        """
        FILE is what `hubble observe -o jsonpb` writes (one GetFlowsResponse a line) or `-o json`
        (one Flow a line), plain or gzip, mixed freely; a FIFO or a pipe works, and '-' reads stdin. Several FILEs (one per node, say) are merged
        by event time, as a Relay would have delivered them. Bad lines are counted and reported with
        their numbers; the replay goes on and loses no good line. A flow stamped far from its
        neighbours (a lone 2099 stamp) is kept out of event time and reported as bad time.

        Exit codes:
          0  flows were read (whether or not anything was found)
          1  usage error (bad option, missing file)
          2  a FILE yielded no flow at all (empty, every line bad, unreadable)
          3  --fail-on was given and a finding of that severity or worse was raised
          4  a FILE could not be read to its end (cut or damaged gzip, gzip bomb, read error); the
             report names the line it stopped at

        With --serve the flows are loaded into the store (bounded as for watch: the newest are kept), the
        detectors run over them, the report is printed, and FlowWatch goes on serving /api/v1/... and /metrics
        on --listen until Ctrl-C or SIGTERM (exit 0); queries work while it loads (/readyz says 503 until done).

        Examples:
          hubble observe --since 1h -o jsonpb > incident.jsonl
          flowwatch replay incident.jsonl
          flowwatch replay node-a.jsonl node-b.jsonl.gz --format json --fail-on critical
          flowwatch replay incident.jsonl --serve --listen 127.0.0.1:9091 &
          flowwatch flows --server http://127.0.0.1:9091 --verdict dropped; flowwatch findings --server http://127.0.0.1:9091
        """);

    public static async Task<int> RunAsync(string[] argv, CancellationToken ct)
    {
        var args = ParsedArgs.Parse(Spec, argv);
        if (args.HelpRequested || !args.Flag("serve")) return await RunReportAsync(args, ct);
        if (args.Flag("each")) throw new UsageException("--serve serves one timeline: leave out --each (several FILEs are merged by event time).");
        if (args.Has("fail-on")) throw new UsageException("--fail-on ends a replay with an exit code; --serve keeps serving instead: give one or the other.");
        var format = args.Get("format");
        if (format is not ("text" or "json")) throw new UsageException($"option '--format' must be text or json (got '{format}').");
        CheckFiles(args);
        var settings = new ReplayCommandSettings(DetectorFlags.Build(args), args.Duration("drain"), args.Flag("quiet") || format == "json", format == "json");
        return await ReplayServeCommand.RunAsync(args, args.Positionals, settings, ct);
    }

    private static void CheckFiles(ParsedArgs args)
    {
        if (args.Positionals.Count == 0) throw new UsageException("give at least one FILE to replay. Run 'flowwatch replay --help'.");
        foreach (var file in args.Positionals)
            if (Directory.Exists(file)) throw new UsageException($"'{file}' is a directory; give the recording files in it (for example {Path.Combine(file, "*.jsonl")}).");
            else if (file != RecordingInput.StdinName && !File.Exists(file)) throw new UsageException($"file '{file}' does not exist; give a recording such as one written by 'hubble observe -o jsonpb > FILE'.");
    }

    private static async Task<int> RunReportAsync(ParsedArgs args, CancellationToken ct)
    {
        if (args.HelpRequested) { Console.Out.Write(Spec.Help()); return 0; }
        if (args.Has("listen")) throw new UsageException("--listen is where --serve listens: give --serve too.");
        CheckFiles(args);
        var format = args.Get("format");
        if (format is not ("text" or "json")) throw new UsageException($"option '--format' must be text or json (got '{format}').");
        Severity? failOn = args.Get("fail-on") switch
        {
            null => null,
            "warning" => Severity.Warning,
            "critical" => Severity.Critical,
            var other => throw new UsageException($"option '--fail-on' must be warning or critical (got '{other}')."),
        };
        var drain = args.Duration("drain");
        var detectors = DetectorFlags.Build(args);
        var eventTime = EventTimeFlags.From(args);
        var cluster = ClusterFlag.Get(args);

        var quiet = args.Flag("quiet") || format == "json";
        List<IReadOnlyList<string>> timelines = args.Flag("each") ? args.Positionals.Select(f => (IReadOnlyList<string>)[f]).ToList() : [args.Positionals];
        var summaries = new List<ReplaySummary>();
        if (!quiet) Console.Error.WriteLine($"  replaying {args.Positionals.Count} file(s){(args.Flag("each") ? " one by one" : ", merged by event time")} …");
        foreach (var files in timelines)
        {
            var registry = Prometheus.Metrics.NewCustomRegistry();
            registry.SetStaticLabels(new Dictionary<string, string> { ["cluster"] = cluster });
            // A recording from a ClusterMesh: findings about the other clusters' pods name their cluster, as in watch.
            var attribution = new FlowWatch.Clusters.ClusterAttribution(cluster);
            using var pipeline = new FlowPipeline(DetectorSet.Create(detectors), Prometheus.Metrics.WithCustomRegistry(registry), [attribution, .. TestHooks.Sinks()], eventTime);
            pipeline.Book.Cluster = cluster;
            pipeline.Book.Attribute = attribution.Of;
            var runner = new ReplayRunner(pipeline, new FlowFileReader(new FlowConverter()))
            {
                Drain = drain,
                Progress = quiet ? null : n => Console.Error.WriteLine($"  … {n:N0} flows"),
            };
            summaries.Add(await runner.RunAsync(files, ct));
        }

        if (format == "json")
        {
            var reports = summaries.Select(ReplayReport.From).ToList();
            Console.Out.WriteLine(args.Flag("each")
                ? JsonSerializer.Serialize(reports, ApiJson.Indented)
                : JsonSerializer.Serialize(reports[0], ApiJson.Indented));
        }
        else
            foreach (var s in summaries) Console.Out.Write(s.ToText());

        var empty = summaries.SelectMany(s => s.FilesWithoutFlows).ToList();
        foreach (var file in empty) Console.Error.WriteLine($"flowwatch replay: no flow could be read from '{file}'.");
        if (empty.Count > 0) return NothingRead;
        if (summaries.Any(s => s.BadLineSamples.Any(b => b.EndsInput))) return InputNotReadToItsEnd;
        if (failOn is { } threshold && summaries.Any(s => s.Findings.Any(f => f.Severity >= threshold)))
        {
            Console.Error.WriteLine($"flowwatch replay: a finding of severity {threshold.ToString().ToLowerInvariant()} or worse was raised (--fail-on).");
            return FindingsFailed;
        }
        return 0;
    }

    /// <summary>Exit code when a recording could not be read to its end (its findings cover only what came before).</summary>
    public const int InputNotReadToItsEnd = 4;
}
