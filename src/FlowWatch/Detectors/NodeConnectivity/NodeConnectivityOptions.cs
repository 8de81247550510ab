namespace FlowWatch.Detectors.NodeConnectivity;

/// <summary>Settings of the <see cref="NodeConnectivityDetector"/>. Every duration is event time.</summary>
public sealed record NodeConnectivityOptions
{
    /// <summary>Rolling window of each node's handshakes, kept in <see cref="Bucket"/>-sized buckets. The default is 30 seconds.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The default is 5 seconds.</summary>
    public TimeSpan Bucket { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often every node's verdict is taken again. The default is 2 seconds.</summary>
    public TimeSpan EvaluateEvery { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Handshakes to and from a node's pods in the window before any verdict on it. The default is 20.</summary>
    public int MinHandshakes { get; init; } = 20;

    /// <summary>Share of them that must fail (timeout, reply or SYN lost) for a collapse. The default is 0.5.</summary>
    public double CollapseRatio { get; init; } = 0.5;

    /// <summary>Workloads on the node that must be failing (at least <see cref="CollapseRatio"/> each), and at least half
    /// of those with traffic: one broken pod or one broken service is not a broken node. The default is 2.</summary>
    public int MinWorkloads { get; init; } = 2;

    /// <summary>Distinct peers (pods or outside addresses) of the failed handshakes. The default is 3.</summary>
    public int MinPeers { get; init; } = 3;

    /// <summary>The rest of the cluster must fail at most this share of its handshakes (with at least
    /// <see cref="MinHandshakes"/> of them): when every node fails, the problem is not one node. The default is 0.2.</summary>
    public double HealthyElsewhereRatio { get; init; } = 0.2;

    /// <summary>The node's own recent past, kept beside the window in <see cref="PastBucket"/>-sized buckets: what the node did
    /// before the window is the comparison when the rest of the cluster carries too little traffic to compare with (every
    /// handshake touches this node, as when it hosts every server). The default is 10 minutes.</summary>
    public TimeSpan Past { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The default is 30 seconds.</summary>
    public TimeSpan PastBucket { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>An open finding resolves once the node's failure share in the window falls under this, with at least
    /// <see cref="MinHandshakes"/> / 2 completed handshakes. The default is 0.2.</summary>
    public double RecoveredRatio { get; init; } = 0.2;

    /// <summary>Bound of tracked nodes; the one quiet longest is evicted and counted. The default is 5,000.</summary>
    public int MaxNodes { get; init; } = 5_000;

    /// <summary>Bound of remembered pod IP → node placements. The default is 250,000.</summary>
    public int MaxPodLocations { get; init; } = 250_000;

    /// <summary>Bound of workloads tracked per node; further ones are not told apart (counted). The default is 256.</summary>
    public int MaxWorkloadsPerNode { get; init; } = 256;

    /// <summary>Event time without a new report before a finding resolves, if traffic stops altogether. The default is 2 minutes.</summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromMinutes(2);

    public void Validate()
    {
        if (Bucket <= TimeSpan.Zero || Window < Bucket) throw new ArgumentException("node connectivity: Window must be at least one Bucket");
        if (PastBucket <= TimeSpan.Zero || Past < PastBucket || Past <= Window)
            throw new ArgumentException("node connectivity: Past must be at least one PastBucket and longer than Window");
        if (EvaluateEvery <= TimeSpan.Zero) throw new ArgumentException("node connectivity: EvaluateEvery must be positive");
        if (MinHandshakes < 1 || MinWorkloads < 1 || MinPeers < 1) throw new ArgumentException("node connectivity: minimums must be at least 1");
        if (!(CollapseRatio > 0 && CollapseRatio <= 1)) throw new ArgumentException("node connectivity: CollapseRatio must be in (0, 1]");
        if (!(HealthyElsewhereRatio >= 0 && HealthyElsewhereRatio < CollapseRatio))
            throw new ArgumentException("node connectivity: HealthyElsewhereRatio must be in [0, CollapseRatio)");
        if (!(RecoveredRatio > 0 && RecoveredRatio <= CollapseRatio))
            throw new ArgumentException("node connectivity: RecoveredRatio must be in (0, CollapseRatio]");
        if (MaxNodes < 1 || MaxPodLocations < 1 || MaxWorkloadsPerNode < 1) throw new ArgumentException("node connectivity: bounds must be positive");
        if (QuietPeriod <= TimeSpan.Zero) throw new ArgumentException("node connectivity: QuietPeriod must be positive");
    }
}
