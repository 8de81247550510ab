namespace FlowWatch.Findings;

/// <summary>One finding from the copies several replicas of one cluster raised (node shards): how the fleet view and
/// the CLI show each finding exactly once.</summary>
/// <remarks>
/// A finding's id is its kind and the key it is tracked by (a workload, an IP, a backend pod), never the replica or
/// node that saw it, so every shard that sees part of a problem's evidence raises it under the same id. Node shards
/// see disjoint flows, so the flow counts in the evidence add up. What does not add up is taken as the largest copy's
/// (<see cref="NotAdditive"/>): shares (<c>*_pct</c>), facts every replica reads whole from the Kubernetes API (pods,
/// siblings), flags, and counts of distinct things (failing peers), which the merge then gives as a lower bound.
/// Open while any copy is open; the worst severity of the open copies; first seen the earliest, last seen the latest;
/// summary and details from the copy seen last.
/// </remarks>
public static class FindingMerge
{
    /// <summary>Evidence that is not a count of flows: the largest copy's value is kept. Keys ending in <c>_pct</c> too.</summary>
    public static readonly IReadOnlySet<string> NotAdditive = new HashSet<string>(StringComparer.Ordinal)
    {
        "pods", "cluster_state", "no_cilium_endpoint", "started_before_agent", "siblings", "healthy_siblings", "ready_but_failing",
        "secondary_eni", "visibility_proxy", "visibility_datapath", "window_seconds", "failing_workloads", "failing_peers",
        "failing_peer_nodes", "asymmetric_peer_ranges", "by_peer_range", "outcomes",
    };

    private static bool Additive(string key) => !NotAdditive.Contains(key) && !key.EndsWith("_pct", StringComparison.Ordinal);

    /// <summary>Merges copies of one finding (same cluster and id).</summary>
    public static Finding Merge(IReadOnlyCollection<Finding> copies)
    {
        if (copies.Count == 0) throw new ArgumentException("no copies to merge", nameof(copies));
        var latest = copies.MaxBy(f => f.LastSeen)!;
        if (copies.Count == 1) return latest;
        if (copies.Select(f => (f.Cluster, f.Id)).Distinct().Count() != 1)
            throw new ArgumentException("copies of different findings", nameof(copies));
        var open = copies.Where(f => f.State == FindingState.Open).ToList();
        var evidence = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var copy in copies)
            foreach (var (key, value) in copy.Evidence)
                evidence[key] = !evidence.TryGetValue(key, out var seen) ? value
                    : Additive(key) ? seen + value : Math.Max(seen, value);
        return latest with
        {
            State = open.Count > 0 ? FindingState.Open : FindingState.Resolved,
            Severity = (open.Count > 0 ? open : copies).Max(f => f.Severity),
            FirstSeen = copies.Min(f => f.FirstSeen),
            LastSeen = latest.LastSeen,
            Evidence = evidence,
        };
    }

    /// <summary>Every finding once, by cluster and id, from the findings several replicas answered.</summary>
    public static IReadOnlyList<Finding> MergeAll(IEnumerable<Finding> findings) =>
        findings.GroupBy(f => (f.Cluster, f.Id)).Select(g => Merge(g.ToList())).ToList();
}
