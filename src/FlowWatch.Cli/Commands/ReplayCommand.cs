using System.Text.Json;
using FlowWatch.Cli.CommandLine;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Pipeline;
using FlowWatch.Replay;
using Prometheus;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch replay</c>: recorded flows through every detector, in the flows' own time.</summary>
public static class ReplayCommand
{
    public static readonly CommandSpec Spec = new("replay",
        "run recorded flows through the detectors in event time and report what they found",
        "FILE [FILE ...] [options]",
        [
            new("format", "Report as text or json.", "text|json", "text"),
            new("drain", "Event time to run past the last flow so pending timeouts fire.", "DURATION", "30s"),
            new("quiet", "No progress lines, only the report."),
            .. DetectorFlags.Options,
        ],
        """
        FILE is what `hubble observe -o jsonpb` writes (one GetFlowsResponse a line) or `-o json`
        (one Flow a line), plain or gzip; a FIFO or a pipe works, and '-' reads stdin. Bad lines are
        counted and reported with their numbers; the replay goes on and loses no good line. Input that
        cannot be read to its end (a cut or damaged gzip, a gzip bomb, a read error) is reported with the
        line it stopped at, and the exit code is 3.

        Example:
          hubble observe --since 1h -o jsonpb > incident.jsonl
          flowwatch replay incident.jsonl
        """);

    public static Task<int> RunAsync(string[] argv, CancellationToken ct)
    {
        var args = ParsedArgs.Parse(Spec, argv);
        if (args.HelpRequested) { Console.Out.Write(Spec.Help()); return Task.FromResult(0); }
        if (args.Positionals.Count == 0) throw new UsageException("give at least one FILE to replay. Run 'flowwatch replay --help'.");
        var format = args.Get("format");
        if (format is not ("text" or "json")) throw new UsageException($"option '--format' must be text or json (got '{format}').");
        var drain = args.Duration("drain");
        var detectors = DetectorFlags.Build(args);
        foreach (var file in args.Positionals)
            if (Directory.Exists(file)) throw new UsageException($"'{file}' is a directory; give the recording files in it (for example {Path.Combine(file, "*.jsonl")}).");
            else if (file != RecordingInput.StdinName && !File.Exists(file)) throw new UsageException($"file '{file}' does not exist; give a recording such as one written by 'hubble observe -o jsonpb > FILE'.");

        var registry = Prometheus.Metrics.NewCustomRegistry();
        using var pipeline = new FlowPipeline(DetectorSet.Create(detectors), Prometheus.Metrics.WithCustomRegistry(registry));
        var quiet = args.Flag("quiet") || format == "json";
        var runner = new ReplayRunner(pipeline, new FlowFileReader(new FlowConverter()))
        {
            Drain = drain,
            Progress = quiet ? null : n => Console.Error.WriteLine($"  … {n:N0} flows"),
        };
        var summary = runner.Run(args.Positionals, ct);
        if (format == "json")
            Console.Out.WriteLine(JsonSerializer.Serialize(summary, CliJson.Options));
        else
            Console.Out.Write(summary.ToText());
        return Task.FromResult(summary.BadLineSamples.Any(b => b.EndsInput) ? InputNotReadToItsEnd : 0);
    }

    /// <summary>Exit code when a recording could not be read to its end (its findings cover only what came before).</summary>
    public const int InputNotReadToItsEnd = 3;
}
