namespace FlowWatch.Simulation;

/// <summary>How the simulated stream departs from a perfectly sorted, singly observed one, the way a Relay's stream does.</summary>
/// <remarks>
/// <see cref="Relay"/> is what real clusters send, and the simulator's default, so that demos, tests and benchmarks meet
/// lagging nodes and doubly observed packets as FlowWatch will in production. <see cref="None"/> is the
/// sorted, singly observed twin of the same traffic (<c>--sorted</c>), for the few callers that compare against exact
/// sorted output: the shapes draw from a random stream of their own, so switching them
/// off changes nothing else (the same conversations, stamps and ids).
/// </remarks>
public sealed record TrafficShapes
{
    /// <summary>Largest lag of one node's flows behind the others' (each node's own flows keep their order); zero for none.
    /// The default, 1.5 s, stays inside FlowWatch's default allowed lateness of 2 s.</summary>
    public TimeSpan MaxNodeLag { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>A packet between pods on two nodes is observed on both: TO_STACK on the source's node as well as
    /// TO_ENDPOINT on the destination's.</summary>
    public bool DoubleObservation { get; init; } = true;

    /// <summary>A policy-verdict event (ingress, allowed) beside the first packet of each new connection to a pod.</summary>
    public bool PolicyVerdicts { get; init; } = true;

    /// <summary>About how often, in event time, some node reports lost events (perf ring buffer); null for never.</summary>
    public TimeSpan? LostEventsEvery { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>About how often a node_status message (a node's agent reconnecting to the Relay) appears; null for never.</summary>
    public TimeSpan? NodeStatusEvery { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>Offset of <see cref="SkewedNode"/>'s clock: its flows are stamped this much off (negative: behind), not delivered late.</summary>
    public TimeSpan ClockSkew { get; init; }

    /// <summary>The node (1-based number) whose clock is off by <see cref="ClockSkew"/>.</summary>
    public int SkewedNode { get; init; } = 2;

    /// <summary>A Relay's stream: lagging nodes, double observation, policy verdicts, occasional lost events and node status.</summary>
    public static TrafficShapes Relay { get; } = new();

    /// <summary>The perfectly sorted, singly observed stream, nothing but flows.</summary>
    public static TrafficShapes None { get; } = new()
    {
        MaxNodeLag = TimeSpan.Zero, DoubleObservation = false, PolicyVerdicts = false, LostEventsEvery = null, NodeStatusEvery = null,
    };

    /// <summary>Whether flows can come out of stamp order (lag, or observations stamped just before their conversation's first flow).</summary>
    internal bool Reorders => MaxNodeLag > TimeSpan.Zero || DoubleObservation || PolicyVerdicts || ClockSkew != TimeSpan.Zero
        || LostEventsEvery is not null || NodeStatusEvery is not null;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate(int nodes)
    {
        if (MaxNodeLag < TimeSpan.Zero || MaxNodeLag > TimeSpan.FromMinutes(1))
            throw new ArgumentException($"node lag must be 0..1 min, not {MaxNodeLag}", nameof(MaxNodeLag));
        if (LostEventsEvery is { } lost && lost < TimeSpan.FromMilliseconds(10))
            throw new ArgumentException($"lost events every {lost} is too often (at least 10 ms)", nameof(LostEventsEvery));
        if (NodeStatusEvery is { } status && status < TimeSpan.FromMilliseconds(10))
            throw new ArgumentException($"node status every {status} is too often (at least 10 ms)", nameof(NodeStatusEvery));
        if (ClockSkew.Duration() > TimeSpan.FromDays(3650))
            throw new ArgumentException($"clock skew must be within ten years, not {ClockSkew}", nameof(ClockSkew));
        if (SkewedNode < 1 || SkewedNode > nodes)
            throw new ArgumentException($"the skewed node must be 1..{nodes}, not {SkewedNode}", nameof(SkewedNode));
    }
}
