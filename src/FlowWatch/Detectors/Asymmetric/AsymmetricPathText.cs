using System.Globalization;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Findings;
using FlowWatch.Kubernetes;

namespace FlowWatch.Detectors.Asymmetric;

/// <summary>The asymmetric-path finding: which range loses which pod's replies, next to the ranges that work, and what to check.</summary>
internal static class AsymmetricPathText
{
    public static Finding Build(AsymmetricGroup g, in AsymmetricCounts c, in AsymmetricVerdict v, IReadOnlyList<string> healthyRanges,
        EniAddressState? eni, TimeSpan window, DateTimeOffset now)
    {
        var range = g.Key.Range.ToString();
        var pod = $"{g.Key.Namespace}/{g.Key.Pod}";
        var others = c.OtherRangesCompleted > 0
            ? $", while {c.OtherRangesCompleted} handshakes from {string.Join(", ", healthyRanges)} completed"
            : "";
        var eniText = eni is null ? "" : eni.Primary
            ? $" (cluster state puts {g.ServerIp} on the primary interface {eni.Interface} of {eni.Node}, which makes this mechanism less likely)"
            : $" ({g.ServerIp} is on secondary interface {eni.Interface} of {eni.Node})";
        var summary =
            $"Handshakes from clients in {range} to {pod} ({g.ServerIp}:{g.Port}) die on an asymmetric path: {c.Lost} of {c.Handshakes} in the last {Span(window)} " +
            (c.ReplyLost >= c.IngressLost
                ? "saw the pod's SYN-ACK but the client kept retransmitting its SYN"
                : "arrived on the node but never reached the pod while the client kept retransmitting its SYN") +
            $"{others}. " +
            $"Replies leave by a different interface than requests arrived on and are dropped by reverse-path filtering or the cloud's " +
            $"source/destination check; check the pod IP's ENI{eniText} and the node's route to {range}.";

        var details = new List<string>
        {
            $"confidence {v.ConfidencePct}%: reply_lost {c.ReplyLost}, ingress_lost {c.IngressLost} of {c.Handshakes} from {range}" +
                (c.OtherRangesCompleted > 0 ? $"; other ranges completed {c.OtherRangesCompleted}" : "; no other range seen completing") +
                (eni is null ? "; ENI placement unknown" : eni.Primary ? "; IP on primary ENI" : "; IP on secondary ENI"),
            $"outcomes from {range}: " + DescribeCounts(g.Counts),
        };
        if (g.Node.Length != 0) details.Add($"server side observed on node {g.Node}");

        var evidence = new Dictionary<string, long>
        {
            ["handshakes"] = c.Handshakes,
            ["reply_lost"] = c.ReplyLost,
            ["ingress_lost"] = c.IngressLost,
            ["completed"] = g.Total(HandshakeOutcome.Completed),
            ["timeout"] = g.Total(HandshakeOutcome.Timeout),
            ["other_ranges_completed"] = c.OtherRangesCompleted,
            ["secondary_eni"] = eni is { Primary: false } ? 1 : 0,
            ["confidence_pct"] = v.ConfidencePct,
        };
        return new Finding(
            Id: g.Key.FindingId,
            Kind: FindingKind.AsymmetricPath,
            Severity: v.Severity,
            State: FindingState.Open,
            Subject: new FindingSubject(Namespace: g.Key.Namespace, Workload: g.Workload, Pod: g.Key.Pod,
                Ip: g.ServerIp.ToString(), Node: eni?.Node ?? g.Node, PeerRange: range),
            Evidence: evidence,
            FirstSeen: default,
            LastSeen: now,
            Summary: summary,
            Details: details);
    }

    private static string DescribeCounts(RollingCounters counts)
    {
        var parts = new List<string>();
        for (var i = 0; i < HandshakeOutcomes.Count; i++)
            if (counts.Total(i) != 0) parts.Add($"{HandshakeOutcomes.AllNames[i]} {counts.Total(i)}");
        return string.Join(", ", parts);
    }

    private static string Span(TimeSpan span) =>
        span.TotalMinutes >= 1 && span.Seconds == 0
            ? span.TotalMinutes.ToString(CultureInfo.InvariantCulture) + "m"
            : span.TotalSeconds.ToString(CultureInfo.InvariantCulture) + "s";
}
