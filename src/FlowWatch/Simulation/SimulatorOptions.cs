namespace FlowWatch.Simulation;

/// <summary>Settings of the built-in Hubble simulator (<c>flowwatch simulate</c>, <c>flowwatch demo</c>, tests).</summary>
public sealed record SimulatorOptions
{
    /// <summary>HOST:PORT to serve observer.Observer on (h2c); port 0 picks a free one.</summary>
    public string Listen { get; init; } = "127.0.0.1:4245";
    public int Seed { get; init; } = 1;
    public int Nodes { get; init; } = 5;
    /// <summary>Flows per second of event time (= wall time when served live), scenarios included.</summary>
    public double FlowsPerSecond { get; init; } = 1_000;
    public ScenarioSet Scenarios { get; init; } = ScenarioSet.None;
    /// <summary>When node-collapse starts (and, optionally, the agent restart that ends it), from the simulator's start.</summary>
    public NodeCollapseTiming NodeCollapse { get; init; } = NodeCollapseTiming.Default;
    /// <summary>Responses kept for GetFlows without follow (Hubble's default ring holds 4,095 per node).</summary>
    public int BufferSize { get; init; } = 65_536;
    /// <summary>lost_events messages injected per second (0 = none), to exercise a client's accounting.</summary>
    public double LostEventsPerSecond { get; init; }
    /// <summary>How often the live generator catches up with the wall clock.</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromMilliseconds(20);
    /// <summary>When the generator falls further behind the wall clock than this, it starts no new conversations until it has caught up.</summary>
    public TimeSpan MaxLag { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>How the stream departs from a sorted, singly observed one: a Relay's (<see cref="TrafficShapes.Relay"/>) by default;
    /// <see cref="TrafficShapes.None"/> only where a caller needs the sorted stream, and says why.</summary>
    public TrafficShapes Shapes { get; init; } = TrafficShapes.Relay;
    /// <summary>Reported as the server's and every node's Hubble version.</summary>
    public string Version { get; init; } = "1.16.0+flowwatch-simulator";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        Hosting.HttpEndpoint.ParseListen(Listen);
        if (Nodes is < SimulatedCluster.MinNodes or > SimulatedCluster.MaxNodes)
            throw new ArgumentException($"nodes must be {SimulatedCluster.MinNodes}..{SimulatedCluster.MaxNodes}, not {Nodes}", nameof(Nodes));
        if (!(FlowsPerSecond > 0 && FlowsPerSecond <= TrafficGenerator.MaxFlowsPerSecond))
            throw new ArgumentException($"rate must be above 0 and at most {TrafficGenerator.MaxFlowsPerSecond:N0} flows/s, not {FlowsPerSecond}", nameof(FlowsPerSecond));
        if (BufferSize is < 1 or > 1 << 24)
            throw new ArgumentException($"buffer size must be 1..{1 << 24}, not {BufferSize}", nameof(BufferSize));
        NodeCollapse.Validate();
        Shapes.Validate(Nodes);
        if (!(LostEventsPerSecond >= 0 && LostEventsPerSecond <= 10_000))
            throw new ArgumentException($"lost events per second must be 0..10000, not {LostEventsPerSecond}", nameof(LostEventsPerSecond));
        if (Tick <= TimeSpan.Zero || Tick > TimeSpan.FromSeconds(1))
            throw new ArgumentException($"tick must be above 0 and at most 1 s, not {Tick}", nameof(Tick));
        if (MaxLag < Tick)
            throw new ArgumentException($"max lag ({MaxLag}) must be at least the tick ({Tick})", nameof(MaxLag));
    }
}
