namespace FlowWatch.Remediation;

/// <summary>What the remediator did (or would do, or refused) about one pod, and why.</summary>
/// <param name="Action">evict, dry_run or refuse.</param>
/// <param name="Reason">For evict/dry_run: duplicate_ip or unmanaged_pod; for refuse: why not (excluded_namespace, view_stale, ...).</param>
public sealed record RemediationDecision(string Namespace, string Pod, string Action, string Reason, string Detail);
