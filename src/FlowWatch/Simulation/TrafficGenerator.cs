using FlowWatch.Hubble.Proto.Observer;

namespace FlowWatch.Simulation;

/// <summary>
/// Healthy background traffic of a <see cref="SimulatedCluster"/> plus the scenarios that are on, as Hubble
/// <see cref="GetFlowsResponse"/> messages; the same seed, rate and scenarios give the same flows.
/// </summary>
/// <remarks>
/// <see cref="FlowsPerSecond"/> is the total output in event time; scenario traffic runs at a fixed pace of its own
/// (about 10–50 flows/s per scenario) and takes its share of that total, so at very low rates it can crowd the
/// background out. Background traffic never has a shape of a scenario: no dropped or unanswered DNS, no shared
/// IP, no unmanaged identity, no retransmitted SYN, no refused handshake.
/// </remarks>
public sealed class TrafficGenerator
{
    public const double MaxFlowsPerSecond = 50_000_000;

    public TrafficGenerator(SimulatedCluster cluster, ScenarioSet scenarios, double flowsPerSecond)
    {
        if (!(flowsPerSecond > 0 && flowsPerSecond <= MaxFlowsPerSecond))
            throw new ArgumentOutOfRangeException(nameof(flowsPerSecond), flowsPerSecond,
                $"the flow rate must be above 0 and at most {MaxFlowsPerSecond:N0} flows per second");
        Cluster = cluster;
        Scenarios = scenarios;
        FlowsPerSecond = flowsPerSecond;
    }

    public TrafficGenerator(int seed, int nodes, ScenarioSet scenarios, double flowsPerSecond)
        : this(new SimulatedCluster(seed, nodes), scenarios, flowsPerSecond)
    {
    }

    public SimulatedCluster Cluster { get; }
    public ScenarioSet Scenarios { get; }
    public double FlowsPerSecond { get; }
    /// <summary>When the node-collapse scenario starts and ends, from the start of each batch or stream.</summary>
    public NodeCollapseTiming NodeCollapse { get; init; } = NodeCollapseTiming.Default;

    /// <summary>How the stream departs from a sorted, singly observed one: a Relay's (<see cref="TrafficShapes.Relay"/>) by default;
    /// <see cref="TrafficShapes.None"/> only where a caller needs the sorted stream, and says why.</summary>
    public TrafficShapes Shapes { get; init; } = TrafficShapes.Relay;

    private ulong TrafficSeed => (ulong)(uint)Cluster.Seed * 0x9E37_79B9_7F4A_7C15UL ^ 0x7A4F_F1C0_0000_0001UL;

    /// <summary>
    /// A deterministic batch: every flow of the conversations that start and finish within
    /// [<paramref name="from"/>, <paramref name="from"/> + <paramref name="duration"/>), in time order without
    /// <see cref="Shapes"/>, else in the order a Relay delivers them. Lazy.
    /// </summary>
    public IEnumerable<GetFlowsResponse> Generate(DateTimeOffset from, TimeSpan duration)
    {
        if (duration < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(duration), duration, "duration must not be negative");
        return GenerateCore(from, from + duration);
    }

    private IEnumerable<GetFlowsResponse> GenerateCore(DateTimeOffset from, DateTimeOffset end)
    {
        var stream = new TrafficStream(Cluster, Scenarios, FlowsPerSecond, TrafficSeed, ToNanos(from), ToNanos(end), NodeCollapse, Shapes);
        var chunk = new List<GetFlowsResponse>();
        var step = TimeSpan.FromMilliseconds(Math.Clamp(1e9 / FlowsPerSecond * 4096 / 1e6, 1, 1000));
        for (var until = from; until < end;)
        {
            until = until + step < end ? until + step : end;
            chunk.Clear();
            stream.EmitUntil(until, chunk);
            foreach (var message in chunk) yield return message;
        }
        chunk.Clear();
        stream.Finish(chunk);
        foreach (var message in chunk) yield return message;
    }

    /// <summary>An open-ended stream starting at <paramref name="from"/>, for a live source that emits as time passes.</summary>
    public TrafficStream Start(DateTimeOffset from) =>
        new(Cluster, Scenarios, FlowsPerSecond, TrafficSeed, ToNanos(from), long.MaxValue, NodeCollapse, Shapes);

    internal static long ToNanos(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
}
