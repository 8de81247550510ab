using FlowWatch.Findings;

namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>The words of duplicate-IP and unmanaged-pod findings: what is wrong, which pod, what to run.</summary>
internal static class DuplicateIpText
{
    public static string ConflictId(string ip) => $"{Finding.KindName(FindingKind.DuplicateIp)}/{ip}";

    public static string UnmanagedId(string ip) => $"{Finding.KindName(FindingKind.UnmanagedPod)}/{ip}";

    /// <summary>The Critical duplicate_ip finding for a conflict, naming the pod to delete when one is known.</summary>
    public static Finding ConflictFinding(IpConflict c, DateTimeOffset now)
    {
        var subject = c.DeleteCandidate ?? c.Pods[0];
        var other = c.Pods.FirstOrDefault(p => !ReferenceEquals(p, subject));
        var evidence = new Dictionary<string, long>(StringComparer.Ordinal) { ["pods"] = c.Pods.Count };
        if (c.Sources.Contains("cluster")) evidence["cluster_state"] = 1;
        if (c.Sources.Contains("flows")) evidence["alternations"] = c.Alternations;
        return new Finding(
            ConflictId(c.Ip), FindingKind.DuplicateIp, Severity.Critical, FindingState.Open,
            new FindingSubject(Namespace: subject.Namespace, Pod: subject.Name, Ip: c.Ip, Node: c.Node,
                OtherPod: other is null ? "" : other.Display),
            evidence, default, now, ConflictSummary(c), ConflictDetails(c));
    }

    /// <summary>The unmanaged_pod finding: Critical when a managed pod holds the same IP, else Warning.</summary>
    public static Finding UnmanagedFinding(UnmanagedEndpoint u, DateTimeOffset now)
    {
        var evidence = new Dictionary<string, long>(StringComparer.Ordinal);
        if (u.UnmanagedFlows > 0) evidence["unmanaged_flows"] = u.UnmanagedFlows;
        if (u.NoCiliumEndpoint) evidence["no_cilium_endpoint"] = 1;
        if (u.Pod?.StartedBeforeAgent == true) evidence["started_before_agent"] = 1;
        var severity = u.ManagedOwner is not null ? Severity.Critical : Severity.Warning;
        return new Finding(
            UnmanagedId(u.Ip), FindingKind.UnmanagedPod, severity, FindingState.Open,
            new FindingSubject(Namespace: u.Pod?.Namespace ?? "", Pod: u.Pod?.Name ?? "", Ip: u.Ip, Node: u.Node,
                OtherPod: u.ManagedOwner?.Display ?? ""),
            evidence, default, now, UnmanagedSummary(u), UnmanagedDetails(u));
    }

    public static string DeleteCommand(ConflictPod p) => $"kubectl delete pod -n {p.Namespace} {p.Name}";

    public static string ConflictSummary(IpConflict c)
    {
        var on = c.Node.Length != 0 ? $" on {c.Node}" : "";
        var pods = string.Join(" and ", c.Pods.Select(Describe));
        var head = $"IP {c.Ip}{on} is claimed by {c.Pods.Count} pods: {pods}";
        return c.DeleteCandidate is { } d
            ? $"{head} — {d.Display} is the pod Cilium does not manage; delete it so it is recreated with a Cilium address: {DeleteCommand(d)} (or let FlowWatch remediation evict it)"
            : $"{head} — find the pod without a CiliumEndpoint (kubectl get ciliumendpoints -A -o wide | grep {c.Ip}) and delete that one";
    }

    public static List<string> ConflictDetails(IpConflict c)
    {
        var lines = new List<string> { $"seen in: {c.Sources}" };
        foreach (var p in c.Pods) lines.Add(PodLine(p));
        if (c.Alternations > 0) lines.Add($"flows switched between the pods' names {c.Alternations} times within the window");
        if (c.DeleteCandidate is { } d) lines.Add($"recommended: {DeleteCommand(d)}");
        return lines;
    }

    public static string UnmanagedSummary(UnmanagedEndpoint u)
    {
        var on = u.Node.Length != 0 ? $" on {u.Node}" : "";
        if (u.Pod is { } p)
        {
            var why = u.NoCiliumEndpoint ? "it has no CiliumEndpoint" : "its traffic carries identity reserved:unmanaged";
            if (p.StartedBeforeAgent == true) why += ", and it started before the node's Cilium agent became ready";
            var shared = u.ManagedOwner is { } m ? $"; its IP is also used by {m.Display}, which Cilium manages" : "";
            return $"Pod {p.Display} ({u.Ip}{on}) is not managed by Cilium: {why}{shared} — delete it so it is recreated on Cilium's network: {DeleteCommand(p)}";
        }
        var also = u.ManagedOwner is { } o ? $" (the IP is also attributed to {o.Display}, which has a Cilium identity)" : "";
        return $"Traffic from/to {u.Ip}{on} carries identity reserved:unmanaged: a pod Cilium does not manage holds this IP{also} — " +
               $"find it (kubectl get pods -A -o wide --field-selector status.podIP={u.Ip}) and delete the pod without a CiliumEndpoint";
    }

    public static List<string> UnmanagedDetails(UnmanagedEndpoint u)
    {
        var lines = new List<string>();
        if (u.Pod is { } p) lines.Add(PodLine(p));
        if (u.ManagedOwner is { } m) lines.Add(PodLine(m));
        if (u.UnmanagedFlows > 0) lines.Add($"{u.UnmanagedFlows} flows with identity reserved:unmanaged within the window");
        if (u.AgentReadySince is { } r) lines.Add($"Cilium agent on {u.Node} ready since {r:u}");
        if (u.Pod is { } d) lines.Add($"recommended: {DeleteCommand(d)}");
        return lines;
    }

    private static string Describe(ConflictPod p)
    {
        var facts = new List<string>();
        if (p.Managed == true) facts.Add("managed by Cilium");
        else if (p.Managed == false) facts.Add(p.Identity == Flows.ReservedIdentity.Unmanaged ? "identity reserved:unmanaged" : "no CiliumEndpoint");
        if (p.StartedBeforeAgent == true) facts.Add("started before the Cilium agent was ready");
        return facts.Count == 0 ? p.Display : $"{p.Display} ({string.Join(", ", facts)})";
    }

    private static string PodLine(ConflictPod p)
    {
        var parts = new List<string> { p.Display };
        parts.Add(p.Managed switch { true => "has a CiliumEndpoint / Cilium identity", false => "not managed by Cilium", _ => "Cilium management unknown" });
        if (p.Identity != 0) parts.Add($"identity {p.Identity}");
        if (p.Node.Length != 0) parts.Add($"node {p.Node}");
        if (p.StartTime is { } s) parts.Add($"started {s:u}");
        if (p.StartedBeforeAgent is { } b) parts.Add(b ? "before the Cilium agent was ready" : "after the Cilium agent was ready");
        if (p.Flows > 0) parts.Add($"{p.Flows} flows");
        return string.Join(", ", parts);
    }
}
