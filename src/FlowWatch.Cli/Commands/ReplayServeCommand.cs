using FlowWatch.Cli.CommandLine;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Replay;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch replay --serve</c>: load recordings into the store, run the detectors over them in event time,
/// then keep serving the query API and /metrics until SIGTERM, so a recorded incident can be queried as if it were live.</summary>
/// <remarks>
/// The HTTP side starts first: queries work while the recordings load (/readyz answers 503 "loading" until they are in),
/// and the report of the replay is printed once they are. The store's bounds hold as for <c>watch</c>: a recording
/// longer than the store keeps its newest flows, and the report says how many left.
/// </remarks>
public static class ReplayServeCommand
{
    public static async Task<int> RunAsync(ParsedArgs args, IReadOnlyList<string> files, ReplayCommandSettings settings, CancellationToken ct)
    {
        var listen = args.Get("listen")!;
        try { HttpEndpoint.ParseListen(listen); }
        catch (FormatException e) { throw new UsageException($"option '--listen': {e.Message}"); }
        await using var runtime = new FlowWatchRuntime(new RuntimeOptions { Listen = listen, Detectors = settings.Detectors, Cluster = ClusterFlag.Get(args) }, NullLoggerFactory.Instance);
        long loaded = 0;
        var loading = true;
        runtime.Readiness.Add(() => Volatile.Read(ref loading) ? $"loading recordings: {Interlocked.Read(ref loaded):N0} flows so far" : null);
        try { await runtime.StartHttpAsync(ct); }
        catch (Exception e) when (e is IOException or FormatException)
        {
            throw new UsageException($"option '--listen': cannot listen on {listen}: {e.Message}");
        }
        var address = runtime.HttpAddress!.ToString().TrimEnd('/');
        Console.Error.WriteLine($"flowwatch replay: serving on {address} (the query API and /metrics); loading {files.Count} file(s), merged by event time …");
        var runner = new ReplayRunner(runtime.Pipeline, new FlowFileReader(new FlowConverter()))
        {
            Drain = settings.Drain,
            Progress = n =>
            {
                Interlocked.Exchange(ref loaded, n);
                if (!settings.Quiet) Console.Error.WriteLine($"  … {n:N0} flows");
            },
        };
        // The runner feeds the pipeline synchronously: off the request threads, and cancelled by SIGTERM at the next flow
        // (or left behind if one flow holds it, so SIGTERM still ends the process at once).
        var summary = await runner.RunAsync(files, ct);
        Interlocked.Exchange(ref loaded, summary.FlowsRead);
        Volatile.Write(ref loading, false);
        if (settings.Json) Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(ReplayReport.From(summary), Api.ApiJson.Indented));
        else Console.Out.Write(summary.ToText());
        foreach (var file in summary.FilesWithoutFlows) Console.Error.WriteLine($"flowwatch replay: no flow could be read from '{file}'.");
        if (summary.FlowsRead == 0) return ReplayCommand.NothingRead;
        var store = runtime.Store;
        var evicted = store.Evicted > 0 ? $"; the store's bound let the oldest {store.Evicted:N0} go" : "";
        Console.Out.WriteLine($"flowwatch replay: serving {store.Count:N0} flows and {runtime.Pipeline.Book.All.Count()} findings on {address}{evicted}; " +
            $"ask with flowwatch flows|findings|health|backends --server {address}. Ctrl-C or SIGTERM stops.");
        await Console.Out.FlushAsync(ct);
        try { await Task.Delay(Timeout.Infinite, ct); }
        catch (OperationCanceledException) { }
        Console.Error.WriteLine("flowwatch replay: stopped serving");
        return 0;
    }
}

/// <summary>The replay settings <see cref="ReplayCommand"/> parsed, handed to the serving variant.</summary>
public sealed record ReplayCommandSettings(FlowWatch.Hosting.DetectorSettings Detectors, TimeSpan Drain, bool Quiet, bool Json);
