namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>One pod in an IP conflict, with what is known about whether Cilium manages it.</summary>
/// <param name="Managed">True: has a CiliumEndpoint (or a real identity in flows); false: none / reserved:unmanaged; null: unknown.</param>
/// <param name="StartedBeforeAgent">True when the pod started before its node's Cilium agent was ready; null when unknown.</param>
/// <param name="Flows">Flows that attributed the IP to this pod within the window (0 when known only from cluster state).</param>
public sealed record ConflictPod(
    string Namespace, string Name, string Node, bool? Managed, bool? StartedBeforeAgent,
    DateTimeOffset? StartTime, uint Identity, long Flows)
{
    public string Display => $"{Namespace}/{Name}";
}

/// <summary>An IP claimed by more than one pod, and the pod FlowWatch recommends deleting (null when undecided).</summary>
/// <param name="Sources">"cluster", "flows" or "cluster+flows".</param>
public sealed record IpConflict(
    string Ip, string Node, IReadOnlyList<ConflictPod> Pods, ConflictPod? DeleteCandidate, string Sources,
    long Alternations);

/// <summary>An IP used by a pod Cilium does not manage (no CiliumEndpoint, or identity reserved:unmanaged in flows).</summary>
/// <param name="Pod">The unmanaged pod when known (cluster state, or a flow naming it); null when only the IP is known.</param>
/// <param name="ManagedOwner">A pod Cilium does manage with the same IP, when there is one.</param>
public sealed record UnmanagedEndpoint(
    string Ip, string Node, ConflictPod? Pod, ConflictPod? ManagedOwner, long UnmanagedFlows,
    bool NoCiliumEndpoint, DateTimeOffset? AgentReadySince);

/// <summary>The "duplicate_ip" section of a pod's health report.</summary>
/// <param name="Status">ok, duplicate_ip or unmanaged.</param>
/// <param name="Action">The command to run when FlowWatch recommends deleting this pod; else null.</param>
public sealed record DuplicateIpPodReport(
    string Ip, string Status, bool? Managed, bool? StartedBeforeAgent, IReadOnlyList<string> SharesIpWith,
    bool DeleteRecommended, string? Action);
