namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>The words of duplicate-IP and unmanaged-pod findings: what is wrong, which pod, what to run.</summary>
internal static class DuplicateIpText
{
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
