using FlowWatch.Cli.CommandLine;
using FlowWatch.Simulation;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch simulate</c>: the simulated cluster served as a Hubble Relay would serve it.</summary>
public static class SimulateCommand
{
    public static readonly CommandSpec Spec = new("simulate",
        "serve the simulated cluster's flows over gRPC (observer.Observer), as a Hubble Relay would",
        "[options]",
        [
            new("listen", "Address to serve gRPC (h2c) on.", "HOST:PORT", "127.0.0.1:4245"),
            new("scenario", "Failure scenarios: dns-drops,duplicate-ip,asymmetric,nodeport-backend, all or none.", "LIST", "all"),
            new("rate", "Flows per second, scenarios included.", "N", "2000"),
            new("nodes", "Simulated nodes, 3 to 200.", "N", "5"),
            new("seed", "Seed of the deterministic cluster and traffic.", "N", "1"),
        ]);

    public static SimulatorOptions Options(ParsedArgs args, string listen) => new()
    {
        Listen = listen,
        Scenarios = ParseScenarios(args.Get("scenario")!),
        FlowsPerSecond = args.Double("rate", 1, 1_000_000),
        Nodes = args.Int("nodes", Simulation.SimulatedCluster.MinNodes, Simulation.SimulatedCluster.MaxNodes),
        Seed = args.Int("seed", 0),
    };

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
