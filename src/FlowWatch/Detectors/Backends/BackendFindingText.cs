using System.Globalization;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Findings;

namespace FlowWatch.Detectors.Backends;

/// <summary>What a backend's siblings look like when its finding is written.</summary>
internal readonly record struct SiblingView(int Count, int Healthy, IReadOnlyList<string> HealthyNames, double FailureRatio);

/// <summary>The backend finding: which backend behind which node port fails how, next to its siblings, and what to check.</summary>
internal static class BackendFindingText
{
    public static Finding Build(BackendEntry b, in BackendVerdict v, in SiblingView s, BackendHealthOptions o, DateTimeOffset now)
    {
        var svc = b.Service;
        var targetPort = b.Service.Ports.Count > 0 ? b.Service.Ports[0].TargetPort : 0;
        var nodePort = svc.NodePortFor(targetPort);
        var c = b.Counts;
        var hs = v.Counts.Handshakes;
        var parts = new List<string>();
        void Part(HandshakeOutcome outcome, string text)
        {
            var n = c.Total((int)outcome);
            if (n > 0) parts.Add($"{n} of {hs} handshakes {text} ({Pct(n, hs)})");
        }
        Part(HandshakeOutcome.Refused, "refused (RST)");
        Part(HandshakeOutcome.Dropped, "dropped");
        Part(HandshakeOutcome.Timeout, "timed out (SYN delivered, never answered)");
        Part(HandshakeOutcome.ReplyLost, "lost their reply");
        Part(HandshakeOutcome.IngressLost, "never reached the pod");
        if (v.Counts.HttpFailures > 0) parts.Add($"{v.Counts.HttpFailures} of {v.Counts.Http} HTTP responses 5xx ({Pct(v.Counts.HttpFailures, v.Counts.Http)})");

        var where = nodePort > 0 ? $"behind node port {nodePort}"
            : svc.LearnedFromFlows ? "(a service reached from outside the cluster; its node port is unknown without cluster state)"
            : $"behind {svc.Type}";
        var siblingText = s.Count == 0 ? "; it is the service's only backend"
            : s.Healthy > 0 ? $", while {s.Healthy} of its {s.Count} siblings ({string.Join(", ", s.HealthyNames)}) are healthy, so connections that land on it fail and the rest succeed"
            : $"; none of its {s.Count} siblings is healthy either (failing or idle), so look at the service as a whole";
        var readyText = b.Ready == true
            ? " Kubernetes reports the pod Ready, so its readiness probe does not see this."
            : b.Ready == false ? " The pod is not Ready." : "";
        var verb = v.IsUnhealthy ? "is failing" : $"is degraded ({Pct(v.FailureRatio)} failing against {Pct(s.FailureRatio)} for its siblings)";
        var summary =
            $"{svc.Namespace}/{svc.Name} backend {b.Pod} ({b.Ip}:{targetPort}{(b.Node.Length != 0 ? " on " + b.Node : "")}) {where} {verb}: " +
            $"{string.Join(", ", parts)} in the last {Span(o.Window)}{siblingText}.{readyText} " +
            $"Check the pod's listener on port {targetPort}, its logs and its events.";

        var evidence = new Dictionary<string, long>
        {
            ["handshakes"] = hs,
            ["handshake_failures"] = v.Counts.HandshakeFailures,
            ["http_responses"] = v.Counts.Http,
            ["http_5xx"] = v.Counts.HttpFailures,
            // Each share beside the counts it is computed from; failure_pct is the worse of the two, which the verdict uses.
            ["handshake_failure_pct"] = PctOf(v.Counts.HandshakeFailures, hs),
            ["http_5xx_pct"] = PctOf(v.Counts.HttpFailures, v.Counts.Http),
            ["failure_pct"] = (long)Math.Round(v.FailureRatio * 100),
            ["siblings"] = s.Count,
            ["healthy_siblings"] = s.Healthy,
            ["siblings_failure_pct"] = (long)Math.Round(s.FailureRatio * 100),
            ["ready_but_failing"] = b.Ready == true ? 1 : 0,
        };
        for (var i = 0; i < HandshakeOutcomes.Count; i++)
            if (c.Total(i) > 0) evidence[HandshakeOutcomes.AllNames[i]] = c.Total(i);

        var severity = !v.IsUnhealthy ? Severity.Warning : s.Healthy > 0 || s.Count == 0 ? Severity.Critical : Severity.Warning;
        return new Finding(
            Id: $"backend_unhealthy/{svc.Namespace}/{svc.Name}/{b.Pod}",
            Kind: FindingKind.BackendUnhealthy,
            Severity: severity,
            State: FindingState.Open,
            Subject: new FindingSubject(Namespace: svc.Namespace, Workload: b.Workload, Pod: b.Pod, Service: svc.Name,
                Ip: b.Ip.ToString(), Node: b.Node),
            Evidence: evidence,
            FirstSeen: default,
            LastSeen: now,
            Summary: summary,
            Details: [$"window {Span(o.Window)}: {Describe(c)}", $"state {v.State}; target port {targetPort}, node port {nodePort}, service type {svc.Type}"]);
    }

    public static string Describe(RollingCounters c)
    {
        var parts = new List<string>();
        for (var i = 0; i < HandshakeOutcomes.Count; i++)
            if (c.Total(i) > 0) parts.Add($"{HandshakeOutcomes.AllNames[i]} {c.Total(i)}");
        for (var i = 0; i < 4; i++)
            if (c.Total(BackendEntry.HttpSlot + i) > 0) parts.Add($"http {BackendEntry.HttpClassNames[i]} {c.Total(BackendEntry.HttpSlot + i)}");
        return parts.Count == 0 ? "no traffic" : string.Join(", ", parts);
    }

    private static string Pct(double r) => $"{Math.Round(r * 100):0}%";
    private static string Pct(long n, long of) => $"{PctOf(n, of)}%";
    private static long PctOf(long n, long of) => of <= 0 ? 0 : (long)Math.Round(100.0 * n / of);

    public static string Span(TimeSpan span) =>
        span.TotalMinutes >= 1 && span.Seconds == 0
            ? span.TotalMinutes.ToString(CultureInfo.InvariantCulture) + "m"
            : span.TotalSeconds.ToString(CultureInfo.InvariantCulture) + "s";
}
