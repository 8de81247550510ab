using FlowWatch.Cli.CommandLine;
using FlowWatch.Simulation;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch demo</c>: the simulated cluster and the watcher in one process, over loopback gRPC.</summary>
public static class DemoCommand
{
    public static readonly CommandSpec Spec = new("demo",
        "run the built-in simulated cluster and watch it live (start here)",
        "[options]",
        [
            new("scenario", $"Failure scenarios: {string.Join(",", ScenarioSet.KnownNames)}, all or none.", "LIST", "all"),
            new("rate", "Simulated flows per second. With Relay shapes on (the default) the stream carries about 1.3 times N observations: a cross-node packet is observed on both nodes, and policy verdicts are flows too (1,294-1,328/s measured at --rate 1000).", "N", "2000"),
            new("nodes", "Simulated nodes, 3 to 200.", "N", "5"),
            new("seed", "Seed of the deterministic cluster and traffic.", "N", "1"),
            .. SimulateCommand.CollapseOptions,
            new("listen", "Address for /metrics, /healthz and /readyz.", "HOST:PORT", "127.0.0.1:9090"),
            new("progress", "How often the status is redrawn (live view) or printed (progress line); auto: 1s live, 15s as lines.", "DURATION", "auto"),
            new("view", "auto (the live view when stdout is a terminal, lines otherwise), live or lines.", "MODE", "auto"),
            .. SimulateCommand.ShapeOptions,
            ClusterFlag.Option,
            .. RuntimeFlags.Options,
            .. DetectorFlags.Options,
        ],
        "Findings appear within a minute of starting; Ctrl+C stops it cleanly.");

    public static async Task<int> RunAsync(string[] argv, CancellationToken ct)
    {
        var args = ParsedArgs.Parse(Spec, argv);
        if (args.HelpRequested) { Console.Out.Write(Spec.Help()); return 0; }
        var simSpec = SimulateCommand.Spec;
        var simArgs = ParsedArgs.Parse(simSpec,
            ["--scenario", args.Get("scenario")!, "--rate", args.Get("rate")!, "--nodes", args.Get("nodes")!, "--seed", args.Get("seed")!,
             "--clock-skew", args.Get("clock-skew")!, .. SimulateCommand.ShapeArgs(args), .. SimulateCommand.CollapseArgs(args)]);
        var options = SimulateCommand.Options(simArgs, "127.0.0.1:0");
        var progress = WatchCommand.Progress(args);
        var view = WatchCommand.View(args);
        var settings = WatcherSettings.From(args);
        try { Hosting.HttpEndpoint.ParseListen(args.Get("listen")!); }
        catch (FormatException e) { throw new UsageException($"option '--listen': {e.Message}"); }
        await using var sim = new SimulatorHost(options);
        await sim.StartAsync(ct);
        if (!settings.Logging.Json) Console.WriteLine($"flowwatch demo: simulated cluster ({options.Nodes} nodes, {options.FlowsPerSecond:N0} flows/s, scenarios: {args.Get("scenario")}) on {sim.Address}");
        var code = await WatchCommand.RunWatcherAsync(sim.Address.ToString().TrimEnd('/'), args.Get("listen")!, progress, sim.ClusterView(), ct, settings: settings with { LiveView = view, Title = $"FlowWatch demo — {options.Nodes} simulated nodes, scenarios: {args.Get("scenario")}" });
        Hosting.StopTrace.Mark("demo: watcher returned");
        await sim.StopAsync();
        Hosting.StopTrace.Mark("demo: simulator stopped");
        return code;
    }
}
