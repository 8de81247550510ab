using FlowWatch.Flows;

namespace FlowWatch.Tests.Detectors.Dns;

/// <summary>DNS from L3/L4 flows alone (no DNS proxy visibility): unanswered requests are no-answers for the client
/// workload, while answered lookups, NXDOMAIN storms, double observation and reordering raise nothing.</summary>
public sealed class DatapathDnsTests
{
    private static readonly FlowEndpoint Client = DnsFlows.Pod("shop", "cart");
    private static readonly IpAddr ClientIp = IpAddr.Parse("10.1.2.40");
    private static readonly IpAddr KubeDns = IpAddr.Parse("10.96.0.10");
    private const string Id = "dns_drops/shop/cart";

    private static FlowRecord Udp(DnsHarness h, double t, bool reply, ushort port, ObservationPoint point, string node = "node-2",
        IpAddr? server = null, FlowEndpoint? serverEndpoint = null) => new()
    {
        TimeNanos = FlowRecord.ToNanos(h.At(t)),
        NodeName = node,
        Verdict = Verdict.Forwarded,
        Kind = FlowKind.L3L4,
        EventType = CiliumEventTypes.Trace,
        Protocol = L4Protocol.Udp,
        SourceIp = reply ? server ?? KubeDns : ClientIp,
        DestinationIp = reply ? ClientIp : server ?? KubeDns,
        SourcePort = reply ? (ushort)53 : port,
        DestinationPort = reply ? port : (ushort)53,
        Source = reply ? serverEndpoint ?? DnsFlows.CoreDns : Client,
        Destination = reply ? Client : serverEndpoint ?? DnsFlows.CoreDns,
        Reply = reply ? ReplyState.Reply : ReplyState.Request,
        Direction = TrafficDirection.Egress,
        ObservationPoint = point,
    };

    /// <summary>glibc's A and AAAA from one socket; <paramref name="replies"/> of them answered.</summary>
    private static void Lookup(DnsHarness h, List<FlowRecord> flows, double t, ushort port, int replies, bool twoNodes = false)
    {
        flows.Add(Udp(h, t, false, port, ObservationPoint.FromEndpoint));
        flows.Add(Udp(h, t + 0.0001, false, port, ObservationPoint.FromEndpoint));
        if (twoNodes)
        {
            // The same two packets delivered into coredns on its own node, after DNAT to the pod's IP.
            flows.Add(Udp(h, t + 0.0004, false, port, ObservationPoint.ToEndpoint, "node-1", DnsFlows.CoreDnsIp));
            flows.Add(Udp(h, t + 0.0005, false, port, ObservationPoint.ToEndpoint, "node-1", DnsFlows.CoreDnsIp));
        }
        for (var r = 0; r < replies; r++)
        {
            if (twoNodes) flows.Add(Udp(h, t + 0.001 + r * 0.0001, true, port, ObservationPoint.FromEndpoint, "node-1", DnsFlows.CoreDnsIp));
            flows.Add(Udp(h, t + 0.002 + r * 0.0001, true, port, ObservationPoint.ToEndpoint));
        }
    }

    private static void Run(DnsHarness h, List<FlowRecord> flows, double until)
    {
        foreach (var f in flows.OrderBy(f => f.TimeNanos)) h.Push(f);
        h.AdvanceTo(until);
    }

    [Fact]
    public void TheAAAAARace_OneReplyLostAndTheClientRetrying_IsNoAnswer_FromL3L4FlowsAlone()
    {
        using var h = new DnsHarness();
        var flows = new List<FlowRecord>();
        for (var i = 0; i < 20; i++)
        {
            var port = (ushort)(40000 + i);
            Lookup(h, flows, i * 2, port, replies: 1);          // conntrack lost one of the two replies
            Lookup(h, flows, i * 2 + 5, port, replies: 2);      // glibc retries after its 5 s timeout, same socket
        }
        Run(h, flows, 60);
        var f = h.Latest(Id);
        Assert.NotNull(f);
        Assert.Equal(20, f.Evidence["no_answer"]);
        Assert.Equal(20, f.Evidence["visibility_datapath"]);
        Assert.Equal(0, f.Evidence["visibility_proxy"]);
        Assert.Equal(20, f.Evidence["retried"]);
        Assert.Contains(f.Details, d => d.Contains("retried 20", StringComparison.Ordinal));
        Assert.Equal(20, h.Dropped("shop", "cart", "no_answer"));
    }

    [Fact]
    public void EveryReplyPresent_RaisesNothing()
    {
        using var h = new DnsHarness();
        var flows = new List<FlowRecord>();
        for (var i = 0; i < 40; i++) Lookup(h, flows, i, (ushort)(40000 + i), replies: 2);
        Run(h, flows, 60);
        Assert.Empty(h.Findings);
        Assert.Equal(0, h.TotalDropped());
    }

    [Fact]
    public void AnNdotsFiveNxdomainStorm_IsAnswers_NotDrops()
    {
        using var h = new DnsHarness();
        var flows = new List<FlowRecord>();
        // Five search-domain expansions per name, each answered NXDOMAIN (an answer like any other), then the real name.
        for (var i = 0; i < 200; i++)
            for (var expansion = 0; expansion < 6; expansion++)
                Lookup(h, flows, i * 0.2 + expansion * 0.01, (ushort)(30000 + i * 6 + expansion), replies: 2);
        Run(h, flows, 60);
        Assert.Empty(h.Findings);
        Assert.Equal(0, h.TotalDropped());
    }

    [Fact]
    public void TheSamePacketsSeenOnTwoNodes_AndRepliesOvertakingRequests_RaiseNothing()
    {
        using var h = new DnsHarness();
        var flows = new List<FlowRecord>();
        for (var i = 0; i < 40; i++) Lookup(h, flows, i, (ushort)(40000 + i), replies: 2, twoNodes: true);
        // Relay merges nodes' streams a few hundred ms apart: move every other lookup's client-side replies 300 ms
        // ahead of its requests.
        var reordered = flows.Select(f => f.SourcePort == 53 && f.NodeName == "node-2" && f.DestinationPort % 2 == 0
            ? new FlowRecord
            {
                TimeNanos = f.TimeNanos - 300_000_000, NodeName = f.NodeName, Verdict = f.Verdict, Kind = f.Kind, EventType = f.EventType,
                Protocol = f.Protocol, SourceIp = f.SourceIp, DestinationIp = f.DestinationIp, SourcePort = f.SourcePort,
                DestinationPort = f.DestinationPort, Source = f.Source, Destination = f.Destination, Reply = f.Reply,
                Direction = f.Direction, ObservationPoint = f.ObservationPoint,
            }
            : f).ToList();
        Run(h, reordered, 60);
        Assert.Empty(h.Findings);
        Assert.Equal(0, h.TotalDropped());
    }

    [Fact]
    public void UnansweredTuplesPastTheBound_AreShedAndCounted_AndThePendingGaugeCountsTheDatapathTable()
    {
        var h = new DnsHarness(new FlowWatch.Detectors.Dns.DnsDropOptions { MaxPendingRequests = 64 });
        var flows = new List<FlowRecord>();
        for (var i = 0; i < 200; i++) flows.Add(Udp(h, 0.001 * i, false, (ushort)(30000 + i), ObservationPoint.FromEndpoint));
        foreach (var f in flows) h.Push(f);
        Assert.Equal(200.0 - 64, MetricText.Value(h.Registry, "flowwatch_dns_evicted_total", ("reason", "datapath_full")) ?? -1);
        Assert.Equal(64.0, h.PendingGauge);
    }
}
