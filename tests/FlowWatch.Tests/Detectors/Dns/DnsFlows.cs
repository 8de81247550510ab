using FlowWatch.Flows;

namespace FlowWatch.Tests.Detectors.Dns;

/// <summary>DNS-shaped flow records as Cilium's proxy and datapath emit them (see SCENARIOS.md, dns-drops).</summary>
internal static class DnsFlows
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    public static readonly IpAddr CoreDnsIp = IpAddr.Parse("10.1.1.10");
    public static readonly FlowEndpoint CoreDns = new(102, "kube-system", "coredns-5d78c9869d-k2x8p", "coredns", "Deployment");

    public static FlowEndpoint Pod(string ns, string workload, string suffix = "7d4d858f75-j76f7", uint identity = 23456) =>
        new(identity, ns, $"{workload}-{suffix}", workload, "Deployment");

    public static FlowRecord Request(DateTimeOffset t, FlowEndpoint client, IpAddr clientIp, string query,
        Verdict verdict = Verdict.Forwarded, ushort sport = 40000, string qtype = "A") => new()
    {
        TimeNanos = FlowRecord.ToNanos(t),
        NodeName = "sim-node-1",
        Verdict = verdict,
        Kind = FlowKind.L7,
        EventType = CiliumEventTypes.AccessLog,
        SourceIp = clientIp,
        DestinationIp = CoreDnsIp,
        Protocol = L4Protocol.Udp,
        SourcePort = sport,
        DestinationPort = 53,
        Source = client,
        Destination = CoreDns,
        Reply = ReplyState.Request,
        Direction = TrafficDirection.Egress,
        L7 = new L7Record { Kind = L7Kind.Request, Dns = new DnsRecord(query, 0, qtype, 0) },
    };

    public static FlowRecord Response(DateTimeOffset t, FlowEndpoint client, IpAddr clientIp, string query, int rcode,
        ushort dport = 40000, string qtype = "A") => new()
    {
        TimeNanos = FlowRecord.ToNanos(t),
        NodeName = "sim-node-1",
        Verdict = Verdict.Forwarded,
        Kind = FlowKind.L7,
        EventType = CiliumEventTypes.AccessLog,
        SourceIp = CoreDnsIp,
        DestinationIp = clientIp,
        Protocol = L4Protocol.Udp,
        SourcePort = 53,
        DestinationPort = dport,
        Source = CoreDns,
        Destination = client,
        Reply = ReplyState.Reply,
        Direction = TrafficDirection.Egress,
        L7 = new L7Record { Kind = L7Kind.Response, Dns = new DnsRecord(query, rcode, qtype, rcode == 0 ? 1 : 0) },
    };

    public static FlowRecord DatapathDrop(DateTimeOffset t, FlowEndpoint client, IpAddr clientIp, int dropReason,
        L4Protocol protocol = L4Protocol.Udp, byte eventType = CiliumEventTypes.Drop) => new()
    {
        TimeNanos = FlowRecord.ToNanos(t),
        NodeName = "sim-node-2",
        Verdict = Verdict.Dropped,
        DropReason = dropReason,
        Kind = FlowKind.L3L4,
        EventType = eventType,
        SourceIp = clientIp,
        DestinationIp = CoreDnsIp,
        Protocol = protocol,
        SourcePort = 41000,
        DestinationPort = 53,
        Source = client,
        Destination = CoreDns,
        Reply = ReplyState.Request,
        Direction = TrafficDirection.Egress,
    };
}
