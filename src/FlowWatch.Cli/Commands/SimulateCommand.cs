using FlowWatch.Cli.CommandLine;
using FlowWatch.Simulation;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch simulate</c>: the simulated cluster served as a Hubble Relay would serve it.</summary>
public static class SimulateCommand
{
    // Before Spec: static fields initialise in order, and Spec spreads these.
    /// <summary>The node-collapse scenario's timing; <c>demo</c> takes the same flags and passes them on.</summary>
    public static readonly OptionSpec[] CollapseOptions =
    [
        new("collapse-after", "node-collapse: when the node's pods lose connectivity, from the start.", "DURATION", "20s"),
        new("collapse-recover-after", "node-collapse: when the Cilium agent restart on that node fixes it, from the start; never keeps it broken.",
            "DURATION", "never"),
    ];

    public static readonly CommandSpec Spec = new("simulate",
        "serve the simulated cluster's flows over gRPC (observer.Observer), as a Hubble Relay would",
        "[options]",
        [
            new("listen", "Address to serve gRPC (h2c) on.", "HOST:PORT", "127.0.0.1:4245"),
            new("scenario", $"Failure scenarios: {string.Join(",", ScenarioSet.KnownNames)}, all or none.", "LIST", "all"),
            new("rate", "Flows per second, scenarios included.", "N", "2000"),
            new("nodes", "Simulated nodes, 3 to 200.", "N", "5"),
            new("seed", "Seed of the deterministic cluster and traffic.", "N", "1"),
            .. CollapseOptions,
        ]);

    /// <summary>The collapse flags as given to another command, to hand to this one's parser.</summary>
    public static IEnumerable<string> CollapseArgs(ParsedArgs args)
    {
        foreach (var o in CollapseOptions)
            if (args.Has(o.Name)) { yield return "--" + o.Name; yield return args.Get(o.Name)!; }
    }

    public static SimulatorOptions Options(ParsedArgs args, string listen) => new()
    {
        Listen = listen,
        Scenarios = ParseScenarios(args.Get("scenario")!),
        FlowsPerSecond = args.Double("rate", 1, 1_000_000),
        Nodes = args.Int("nodes", Simulation.SimulatedCluster.MinNodes, Simulation.SimulatedCluster.MaxNodes),
        Seed = args.Int("seed", 0),
        NodeCollapse = CollapseTiming(args),
    };

    private static NodeCollapseTiming CollapseTiming(ParsedArgs args)
    {
        var after = args.Duration("collapse-after");
        var recover = args.Get("collapse-recover-after") == "never" ? (TimeSpan?)null : args.Duration("collapse-recover-after");
        var timing = new NodeCollapseTiming(after, recover);
        try { timing.Validate(); }
        catch (ArgumentException) { throw new UsageException($"option '--collapse-recover-after' must come after --collapse-after ({after.TotalSeconds:0.###}s), not {recover?.TotalSeconds:0.###}s."); }
        return timing;
    }

    private static ScenarioSet ParseScenarios(string text) =>
        ScenarioSet.TryParse(text, out var set, out var error) ? set : throw new UsageException($"option '--scenario': {error}");

    public static async Task<int> RunAsync(string[] argv, CancellationToken ct)
    {
        var args = ParsedArgs.Parse(Spec, argv);
        if (args.HelpRequested) { Console.Out.Write(Spec.Help()); return 0; }
        await using var sim = new SimulatorHost(Options(args, args.Get("listen")!));
        await sim.StartAsync(ct);
        Console.WriteLine($"serving observer.Observer on {sim.Address} (Ctrl+C to stop)");
        try { await Task.Delay(Timeout.Infinite, ct); } catch (OperationCanceledException) { }
        await sim.StopAsync();
        return 0;
    }
}
