using FlowWatch.Flows;

namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>Settings of the duplicate-IP / unmanaged-pod detector; the defaults suit a typical cluster.</summary>
public sealed record DuplicateIpOptions
{
    /// <summary>Two pods claim one IP only if both were seen within this span; older claims expire.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Pod CIDRs. Empty: any address Hubble attributes to a pod (non-host identity) counts as a pod IP.</summary>
    public IReadOnlyList<IpPrefix> PodCidrs { get; init; } = [];

    /// <summary>A finding resolves after this long without the conflict showing.</summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How many times the flows must switch between the two pods' names for one IP. A reused IP switches
    /// once (old pod, then new); a shared one keeps switching.
    /// </summary>
    public int MinAlternations { get; init; } = 2;

    /// <summary>Flows with identity reserved:unmanaged (3) for an IP, within the window, before it is reported.</summary>
    public int MinUnmanagedFlows { get; init; } = 3;

    /// <summary>
    /// How long a cluster-state conflict (two running pods, or a pod without a CiliumEndpoint on a node whose
    /// agent is ready) must last before it is reported; covers watch-event ordering and endpoint creation.
    /// </summary>
    public TimeSpan StateGrace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often conflicts are re-evaluated and gauges set (event time).</summary>
    public TimeSpan EvaluateEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>IPs remembered from flows, at most; the least recently seen is evicted (and counted) beyond it.</summary>
    public int MaxIps { get; init; } = 100_000;

    /// <summary>Pods and CiliumEndpoints held from cluster state, each at most; further ones are shed and counted.</summary>
    public int MaxPods { get; init; } = 200_000;

    /// <summary>Deleted pods remembered for the window, so stale flows naming them are not taken as a claim.</summary>
    public int MaxRecentlyDeleted { get; init; } = 50_000;

    /// <summary>Distinct node label values of <c>flowwatch_unmanaged_pods</c>; beyond it the node reads "other".</summary>
    public int MaxNodeLabels { get; init; } = 5_000;

    /// <summary>Open findings, at most.</summary>
    public int MaxOpenFindings { get; init; } = 1_000;

    /// <summary>Throws with a readable message when a setting cannot work.</summary>
    public DuplicateIpOptions Validate()
    {
        Require(Window >= TimeSpan.FromSeconds(10), "Window must be at least 10 s");
        Require(QuietPeriod > TimeSpan.Zero, "QuietPeriod must be positive");
        Require(EvaluateEvery > TimeSpan.Zero, "EvaluateEvery must be positive");
        Require(StateGrace >= TimeSpan.Zero, "StateGrace must not be negative");
        Require(MinAlternations >= 1, "MinAlternations must be at least 1");
        Require(MinUnmanagedFlows >= 1, "MinUnmanagedFlows must be at least 1");
        Require(MaxIps >= 1 && MaxPods >= 1 && MaxRecentlyDeleted >= 1 && MaxNodeLabels >= 1 && MaxOpenFindings >= 1,
            "the Max* bounds must be at least 1");
        Require(PodCidrs is not null, "PodCidrs must not be null");
        return this;
    }

    private static void Require(bool ok, string message)
    {
        if (!ok) throw new ArgumentException("duplicate-IP detector: " + message);
    }
}
