namespace FlowWatch.Detectors.Dns;

/// <summary>The "dns" section of a pod's health report: its lookups over the recent window.</summary>
/// <param name="WindowSeconds">How far back the counts reach.</param>
/// <param name="Requests">Lookups the pod sent through the DNS proxy (forwarded or denied).</param>
/// <param name="Answers">Answers it got, by rcode name (noerror, nxdomain, ...).</param>
/// <param name="Drops">Lookups it lost, by reason (policy_denied_proxy, datapath_policy_denied, datapath_other, no_answer).</param>
public sealed record DnsPodReport(
    double WindowSeconds,
    long Requests,
    IReadOnlyDictionary<string, long> Answers,
    IReadOnlyDictionary<string, long> Drops,
    DateTimeOffset LastSeen);
