namespace FlowWatch.Detectors.Dns;

/// <summary>Settings of the DNS-drop detector; the defaults suit a typical cluster.</summary>
public sealed record DnsDropOptions
{
    /// <summary>A forwarded lookup with no answer after this long counts as <c>no_answer</c>.</summary>
    public TimeSpan NoAnswerTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A finding resolves after this long without new drops for its workload.</summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Drops a workload must lose (in one episode) before a finding opens.</summary>
    public int MinDrops { get; init; } = 5;

    /// <summary>Drops (or the share of lookups, <see cref="CriticalRatio"/>) at which the finding becomes critical.</summary>
    public int CriticalDrops { get; init; } = 100;

    /// <summary>Share of a workload's lookups lost at which the finding becomes critical.</summary>
    public double CriticalRatio { get; init; } = 0.5;

    /// <summary>How often timeouts are swept and findings re-evaluated (event time).</summary>
    public TimeSpan EvaluateEvery { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Requests awaiting an answer, at most; the oldest are evicted (and counted) beyond it.</summary>
    public int MaxPendingRequests { get; init; } = 100_000;

    /// <summary>Workloads with per-episode state, at most; the least recently active is evicted beyond it.</summary>
    public int MaxTrackedWorkloads { get; init; } = 5_000;

    /// <summary>Distinct (namespace, workload) label sets; beyond it the workload label reads "other".</summary>
    public int MaxWorkloadLabels { get; init; } = 2_000;

    /// <summary>Pods with a recent-counts window for the per-pod report, at most.</summary>
    public int MaxTrackedPods { get; init; } = 20_000;

    /// <summary>Span of the per-pod counts in the pod report.</summary>
    public TimeSpan PodWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Query names shown in a finding.</summary>
    public int TopNames { get; init; } = 5;

    /// <summary>Distinct query names counted per workload episode; the rest are summed as "other names".</summary>
    public int MaxNamesPerWorkload { get; init; } = 64;

    /// <summary>Open findings, at most.</summary>
    public int MaxOpenFindings { get; init; } = 1_000;

    /// <summary>Throws with a readable message when a setting cannot work.</summary>
    public DnsDropOptions Validate()
    {
        Require(NoAnswerTimeout > TimeSpan.Zero, "NoAnswerTimeout must be positive");
        Require(QuietPeriod > TimeSpan.Zero, "QuietPeriod must be positive");
        Require(EvaluateEvery > TimeSpan.Zero, "EvaluateEvery must be positive");
        Require(PodWindow >= TimeSpan.FromSeconds(10), "PodWindow must be at least 10 s");
        Require(MinDrops >= 1, "MinDrops must be at least 1");
        Require(CriticalDrops >= MinDrops, "CriticalDrops must be at least MinDrops");
        Require(CriticalRatio is > 0 and <= 1, "CriticalRatio must be in (0, 1]");
        Require(MaxPendingRequests >= 1 && MaxTrackedWorkloads >= 1 && MaxWorkloadLabels >= 1 && MaxTrackedPods >= 1,
            "the Max* bounds must be at least 1");
        Require(TopNames >= 1 && MaxNamesPerWorkload >= TopNames, "TopNames must be at least 1 and at most MaxNamesPerWorkload");
        Require(MaxOpenFindings >= 1, "MaxOpenFindings must be at least 1");
        return this;
    }

    private static void Require(bool ok, string message)
    {
        if (!ok) throw new ArgumentException("DNS detector: " + message);
    }
}
