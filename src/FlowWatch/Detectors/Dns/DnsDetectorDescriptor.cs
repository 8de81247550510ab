using FlowWatch.Detectors.Registry;
using FlowWatch.Findings;

namespace FlowWatch.Detectors.Dns;

/// <summary>Registers the DNS detector: dropped, refused and unanswered lookups by client workload.</summary>
public static class DnsDetectorDescriptor
{
    public static readonly DetectorDescriptor Descriptor = new(
        Name: "dns",
        Kinds: [new(FindingKind.DnsDrops, "dns_drops", ["FlowWatchDnsLookupsDropped"], "FlowWatchDnsDrops")],
        Flags:
        [
            new("dns-timeout", "A DNS lookup with no answer after this long counts as no_answer.", "DURATION", FlagValueKind.Duration,
                s => $"{s.Dns.NoAnswerTimeout.TotalSeconds:0}s", (s, v) => s with { Dns = s.Dns with { NoAnswerTimeout = (TimeSpan)v } }),
            new("dns-min-drops", "Dropped lookups a workload must lose before a DNS finding opens.", "N", FlagValueKind.Int,
                s => s.Dns.MinDrops.ToString(), (s, v) => s with { Dns = s.Dns with { MinDrops = (int)v } }, Min: 1),
        ],
        Metrics: ["flowwatch_dns_lookups_dropped_total", "flowwatch_dns_answers_total", "flowwatch_dns_pending_requests", "flowwatch_dns_evicted_total"],
        QuietPeriod: s => s.Dns.QuietPeriod,
        WithQuietPeriod: (s, q) => s with { Dns = s.Dns with { QuietPeriod = q } },
        Validate: s => s.Dns.Validate(),
        Create: (s, _) => new DnsDropDetector(s.Dns));
}
