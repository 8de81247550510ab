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

    /// <summary>The traffic-shape flags simulate and demo share (declared before the specs that use them: static fields start in order).</summary>
    public static readonly OptionSpec[] ShapeOptions =
    [
        new("sorted", "Serve a sorted, singly observed stream instead of a Relay's: no node lag, no packet seen on two nodes, no policy " +
            "verdicts, lost_events or node_status. By default the stream is shaped like a Relay's (nodes lag one another by up to 1.5s, " +
            "packets between pods on two nodes are seen on both, occasional lost_events and node_status), as real clusters send it."),
        new("relay-shapes", "Accepted for older command lines; Relay shapes are the default now (see --sorted)."),
        new("clock-skew", "Stamp the flows of sim-node-2 this far behind the others', as an agent whose clock is wrong (e.g. 10m).", "DURATION", "0s"),
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
            .. ShapeOptions,
            .. CollapseOptions,
        ]);

    /// <summary>The collapse flags as given to another command, to hand to this one's parser.</summary>
    public static IEnumerable<string> CollapseArgs(ParsedArgs args)
    {
        foreach (var o in CollapseOptions)
            if (args.Has(o.Name)) { yield return "--" + o.Name; yield return args.Get(o.Name)!; }
    }

    /// <summary>The shape flags as given to another command, to hand to this one's parser (--clock-skew apart: it always has a value).</summary>
    public static IEnumerable<string> ShapeArgs(ParsedArgs args)
    {
        foreach (var flag in new[] { "sorted", "relay-shapes" })
            if (args.Flag(flag)) yield return "--" + flag;
    }

    /// <summary>The traffic shapes of the command line.</summary>
    /// <exception cref="UsageException">Both --sorted and --relay-shapes.</exception>
    public static TrafficShapes Shapes(ParsedArgs args)
    {
        if (args.Flag("sorted") && args.Flag("relay-shapes"))
            throw new UsageException("options '--sorted' and '--relay-shapes' contradict each other; give one (Relay shapes are the default).");
        return (args.Flag("sorted") ? TrafficShapes.None : TrafficShapes.Relay) with { ClockSkew = -args.Duration("clock-skew") };
    }

    public static SimulatorOptions Options(ParsedArgs args, string listen) => new()
    {
        Listen = listen,
        Scenarios = ParseScenarios(args.Get("scenario")!),
        FlowsPerSecond = args.Double("rate", 1, 1_000_000),
        Nodes = args.Int("nodes", Simulation.SimulatedCluster.MinNodes, Simulation.SimulatedCluster.MaxNodes),
        Seed = args.Int("seed", 0),
        Shapes = Shapes(args),
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
