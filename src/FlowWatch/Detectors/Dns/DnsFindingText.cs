using FlowWatch.Findings;

namespace FlowWatch.Detectors.Dns;

/// <summary>The DNS finding: which workload lost how many lookups, why, the names (where L7 gives them) and what to check.</summary>
internal static class DnsFindingText
{
    public static Finding Build(DnsWorkloadState s, DnsDropOptions o, DateTimeOffset now)
    {
        var total = s.TotalDrops;
        var lookups = Math.Max(s.Lookups, total);
        var ratio = lookups == 0 ? 1 : (double)total / lookups;
        var severity = total >= o.CriticalDrops || ratio >= o.CriticalRatio ? Severity.Critical : Severity.Warning;
        var evidence = new Dictionary<string, long>(StringComparer.Ordinal) { ["lookups"] = lookups };
        for (var i = 0; i < DnsDropReason.Count; i++)
            if (s.Drops[i] != 0) evidence[DnsDropReason.Names[i]] = s.Drops[i];
        var noAnswer = s.Drops[DnsDropReason.NoAnswer];
        if (noAnswer > 0)
        {
            // Where the no-answers were seen: through the DNS proxy (L7 records) or from L3/L4 flows only.
            evidence["visibility_proxy"] = noAnswer - s.NoAnswerDatapath;
            evidence["visibility_datapath"] = s.NoAnswerDatapath;
            evidence["retried"] = s.NoAnswerRetried;
        }
        var top = s.TopNames(o.TopNames);
        var details = new List<string>
        {
            $"{total} of {lookups} lookups lost ({ratio:P0}) since {new DateTimeOffset(s.EpisodeStartTicks, TimeSpan.Zero):u}",
        };
        if (top.Count > 0)
            details.Add("top queried names: " + string.Join(", ", top.Select(p => $"{p.Key} ({p.Value})")) +
                        (s.OtherNames > 0 ? $", {s.OtherNames} more lookups of other names" : ""));
        if (s.DatapathReasons.Count > 0)
            details.Add("datapath drop reasons: " + string.Join(", ",
                s.DatapathReasons.OrderByDescending(p => p.Value).Select(p => $"{p.Key} ({p.Value})")));
        if (s.NoAnswerDatapath > 0)
            details.Add($"{s.NoAnswerDatapath} unanswered lookups seen in L3/L4 flows only (no DNS proxy visibility, so no query names)" +
                        (s.NoAnswerRetried > 0 ? $"; the client retried {s.NoAnswerRetried} of them (the A/AAAA race: one reply lost, the resolver waits its timeout)" : ""));
        if (s.SamplePods.Count > 0) details.Add("sample pods: " + string.Join(", ", s.SamplePods));
        if (s.Nodes.Count > 0) details.Add("seen on nodes: " + string.Join(", ", s.Nodes));
        return new Finding(
            Id: $"{Finding.KindName(FindingKind.DnsDrops)}/{s.Key.Namespace}/{s.Key.Workload}",
            Kind: FindingKind.DnsDrops,
            Severity: severity,
            State: FindingState.Open,
            Subject: new FindingSubject(Namespace: s.Key.Namespace, Workload: s.Key.Workload),
            Evidence: evidence,
            FirstSeen: new DateTimeOffset(s.EpisodeStartTicks, TimeSpan.Zero),
            LastSeen: now,
            Summary: Summarize(s, top, o),
            Details: details);
    }

    private static string Summarize(DnsWorkloadState s, IReadOnlyList<KeyValuePair<string, long>> top, DnsDropOptions o)
    {
        var main = 0;
        for (var i = 1; i < DnsDropReason.Count; i++)
            if (s.Drops[i] > s.Drops[main]) main = i;
        var n = s.Drops[main];
        var topText = top.Count > 0 ? $" (top: {top[0].Key})" : "";
        var text = main switch
        {
            DnsDropReason.PolicyDeniedProxy =>
                $"{s.Key}: {n} DNS lookups denied by FQDN policy in the DNS proxy{topText} — check the toFQDNs rules of the policies selecting this workload",
            DnsDropReason.DatapathPolicyDenied =>
                $"{s.Key}: {n} DNS packets to port 53 dropped by L3/L4 policy ({TopReason(s)}) — allow egress to kube-dns on UDP and TCP 53 in the policies selecting this workload",
            DnsDropReason.DatapathOther =>
                $"{s.Key}: {n} DNS packets to port 53 dropped in the datapath ({TopReason(s)}) — check the Cilium agent and its drop reason on the node",
            _ =>
                $"{s.Key}: {n} DNS lookups got no answer within {o.NoAnswerTimeout.TotalSeconds:0.#} s{topText} — check kube-dns/CoreDNS health and its upstream resolvers",
        };
        var others = s.TotalDrops - n;
        return others > 0 ? $"{text}; plus {others} lost for other reasons" : text;
    }

    private static string TopReason(DnsWorkloadState s)
    {
        string best = "UNKNOWN";
        long max = -1;
        foreach (var (reason, count) in s.DatapathReasons)
            if (count > max) { best = reason; max = count; }
        return best;
    }
}
