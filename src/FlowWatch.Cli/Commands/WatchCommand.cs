using FlowWatch.Cli.CommandLine;
using FlowWatch.Hosting;
using FlowWatch.Hubble;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch watch</c>: follow a real Hubble Relay or agent, serve metrics and probes, print progress.</summary>
public static class WatchCommand
{
    public static readonly CommandSpec Spec = new("watch",
        "watch a Hubble Relay or agent and publish findings and metrics",
        "--hubble TARGET [options]",
        [
            new("hubble", "Hubble Relay address: host:port (plaintext h2c) or https://host:port.", "TARGET"),
            new("listen", "Address for /metrics, /healthz and /readyz.", "HOST:PORT", "127.0.0.1:9090"),
            new("progress", "How often to print a progress line.", "DURATION", "2s"),
        ],
        """
        Example:
          kubectl -n kube-system port-forward svc/hubble-relay 4245:80 &
          flowwatch watch --hubble 127.0.0.1:4245
        """);

    public static async Task<int> RunAsync(string[] argv, CancellationToken ct)
    {
        var args = ParsedArgs.Parse(Spec, argv);
        if (args.HelpRequested) { Console.Out.Write(Spec.Help()); return 0; }
        var target = args.Get("hubble") ?? throw new UsageException("option '--hubble' is required (for example --hubble 127.0.0.1:4245).");
        try { HubbleStreamSource.ToUri(target); } catch (FormatException e) { throw new UsageException($"option '--hubble': {e.Message}"); }
        return await RunWatcherAsync(target, args.Get("listen")!, args.Duration("progress"), null, ct);
    }

    /// <summary>The watcher shared by watch and demo: runtime, HTTP endpoint, Hubble stream, progress.</summary>
    public static async Task<int> RunWatcherAsync(string target, string listen, TimeSpan progressEvery,
        IReadOnlyList<Kubernetes.ClusterEvent>? clusterView, CancellationToken ct)
    {
        await using var runtime = new FlowWatchRuntime(new RuntimeOptions { Listen = listen }, NullLoggerFactory.Instance);
        var source = new HubbleStreamSource(target, f => runtime.Intake.Write(f), runtime.Pipeline.Metrics);
        runtime.Readiness.Add(() => source.State == "connected" ? null : $"hubble {target}: {source.State}");
        try { await runtime.StartHttpAsync(ct); }
        catch (Exception e) when (e is IOException or FormatException)
        {
            throw new UsageException($"option '--listen': cannot listen on {listen}: {e.Message}");
        }
        Console.WriteLine($"flowwatch: watching {target}; metrics on {runtime.HttpAddress}metrics, probes /healthz /readyz");
        if (clusterView is not null) foreach (var change in clusterView) runtime.Intake.Write(change);
        using var printer = new ProgressPrinter(runtime.Pipeline, runtime.Intake, () => $"hubble {source.State}", Console.Out)
        {
            LostEvents = () => source.LostEvents,
        };
        var pump = runtime.RunAsync(live: true, ct);
        var stream = source.RunAsync(ct);
        await printer.RunAsync(progressEvery, ct);
        await stream;
        runtime.Intake.Complete();
        await pump;
        Console.WriteLine($"flowwatch: stopped after {runtime.Pipeline.Stats.Flows:N0} flows; {runtime.Pipeline.Book.OpenFindings.Count} findings open");
        return 0;
    }
}
