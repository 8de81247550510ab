using System.Globalization;
using FlowWatch.Findings;

namespace FlowWatch.Detectors.NodeConnectivity;

/// <summary>The node-connectivity finding: what failed on which node, the Cilium agent there, and what to do.</summary>
internal static class NodeConnectivityText
{
    public static Finding Collapse(string node, in NodeCounts c, IReadOnlyList<string> peers, IReadOnlyList<string> workloads,
        AgentInfo? agent, NodeConnectivityOptions o, DateTimeOffset now)
    {
        TimeSpan window = o.Window, past = o.Past;
        var agentText = agent is { } a && a.Pod.Length != 0
            ? $" The Cilium agent on the node is kube-system/{a.Pod}" + (a.ReadySince is { } r ? $", ready since {r.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z ({Ago(now - r)} ago)." : ", not ready.")
            : agent is { ReadySince: { } since } ? $" The Cilium agent on the node has been ready since {since.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z ({Ago(now - since)} ago)."
            : " Cluster state does not say which Cilium agent runs there (run with --kubeconfig to name it).";
        var restart = agent is { } ag && ag.Pod.Length != 0
            ? $"`kubectl -n kube-system delete pod {ag.Pod}`"
            : $"`kubectl -n kube-system delete pod -l k8s-app=cilium --field-selector spec.nodeName={node}`";
        var summary =
            $"Node {node} has lost pod connectivity: {Share(c.InFailed, c.InTotal)} handshakes to its pods and {Share(c.OutFailed, c.OutTotal)} from them " +
            $"failed in the last {Span(window)}, across {c.FailingWorkloads} workloads and {c.FailingPeers} peers, while " +
            (c.ElsewhereTotal >= o.MinHandshakes
                ? $"the rest of the cluster failed {Pct(c.ElsewhereFailed, c.ElsewhereTotal)} of {c.ElsewhereTotal}"
                : $"in the {Span(past)} before the node itself failed only {Pct(c.PastFailed, c.PastTotal)} of {c.PastTotal} " +
                  $"(the rest of the cluster carries too little traffic to compare with)") +
            $".{agentText} " +
            "Likely kube-proxy's iptables rules sit ahead of Cilium's (the agent started before kube-proxy): on the node compare " +
            "`iptables -t nat -S | head` and `iptables -S | head` (KUBE-* chains jumped to before CILIUM_*), then restart the agent " +
            $"{restart}; running Cilium with kube-proxy replacement removes the race.";
        var evidence = new Dictionary<string, long>
        {
            ["in_handshakes"] = c.InTotal,
            ["in_failed"] = c.InFailed,
            ["in_failed_pct"] = PctValue(c.InFailed, c.InTotal),
            ["out_handshakes"] = c.OutTotal,
            ["out_failed"] = c.OutFailed,
            ["out_failed_pct"] = PctValue(c.OutFailed, c.OutTotal),
            ["failing_workloads"] = c.FailingWorkloads,
            ["failing_peers"] = c.FailingPeers,
            ["elsewhere_failed_pct"] = PctValue(c.ElsewhereFailed, c.ElsewhereTotal),
            ["past_handshakes"] = c.PastTotal,
            ["past_failed_pct"] = PctValue(c.PastFailed, c.PastTotal),
            ["failing_peer_nodes"] = c.FailingPeerNodes,
        };
        var details = new List<string>
        {
            $"failing workloads on the node: {string.Join(", ", workloads)}",
            $"sample peers of failed handshakes: {string.Join(", ", peers)}",
            c.PastTotal == 0 ? $"no handshakes of the node in the {Span(past)} before the window"
                : $"the {Span(past)} before the window: {Share(c.PastFailed, c.PastTotal)} handshakes failed (the node's own past)",
            $"agent: {(agent is { } x ? $"{(x.Pod.Length != 0 ? "kube-system/" + x.Pod : "(pod unknown)")}, ready since {(x.ReadySince is { } t ? t.UtcDateTime.ToString("u", CultureInfo.InvariantCulture) : "not ready")}" : "unknown (no cluster state)")}",
            "check: iptables -t nat -S | head ; iptables -S | head   (on the node: Cilium's chains must come first)",
        };
        return new Finding(
            Id: $"node_connectivity/{node}",
            Kind: FindingKind.NodeConnectivity,
            Severity: Severity.Critical,
            State: FindingState.Open,
            Subject: new FindingSubject(Namespace: agent is { Pod.Length: > 0 } ? "kube-system" : "", Pod: agent?.Pod ?? "", Node: node,
                Workload: agent is { Pod.Length: > 0 } ? "cilium" : ""),
            Evidence: evidence,
            FirstSeen: default,
            LastSeen: now,
            Summary: summary,
            Details: details);
    }

    private static string Share(long failed, long total) =>
        total == 0 ? "none of 0" : $"{failed} of {total} ({Pct(failed, total)})";

    private static string Pct(long part, long total) => $"{PctValue(part, total)}%";

    private static long PctValue(long part, long total) => total == 0 ? 0 : (long)Math.Round(100.0 * part / total);

    private static string Span(TimeSpan s) =>
        s.TotalMinutes >= 1 && s.Seconds == 0 ? $"{s.TotalMinutes:0}m" : $"{s.TotalSeconds:0}s";

    private static string Ago(TimeSpan s) =>
        s < TimeSpan.Zero ? "in the future" : s.TotalHours >= 1 ? $"{s.TotalHours:0.#} h" : s.TotalMinutes >= 1 ? $"{s.TotalMinutes:0} min" : $"{s.TotalSeconds:0} s";
}
