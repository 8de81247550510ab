using FlowWatch.Flows;
using FlowWatch.Simulation;
using Google.Protobuf;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Simulation;

public sealed class TrafficGeneratorTests(ITestOutputHelper output)
{
    private static readonly Lazy<List<FlowRecord>> Background = new(() => SimFlows.Records(ScenarioSet.None, TimeSpan.FromSeconds(60)));

    [Fact]
    public void SameSeed_GivesTheSameBytes_AnotherSeedOtherFlows()
    {
        static List<byte[]> Run(int seed) => SimFlows.Batch(ScenarioSet.All, TimeSpan.FromSeconds(5), seed: seed).Select(r => r.ToByteArray()).ToList();
        var a = Run(42);
        var b = Run(42);
        Assert.True(a.Count > 5_000);
        Assert.Equal(a.Count, b.Count);
        for (var i = 0; i < a.Count; i++) Assert.True(a[i].AsSpan().SequenceEqual(b[i]), $"flow {i} differs");
        var c = Run(43);
        Assert.False(a.Count == c.Count && a.Zip(c).All(p => p.First.AsSpan().SequenceEqual(p.Second)));
    }

    [Fact]
    public void Flows_KeepEachNodesOrder_InsideTheRange_WithUniqueUuids_AndTheirNodeOnTheResponse()
    {
        var batch = SimFlows.Batch(ScenarioSet.All, TimeSpan.FromSeconds(20));
        var start = FlowRecord.ToNanos(SimFlows.Start);
        var end = start + 20_000_000_000L;
        // A Relay's stream by default: nodes lag one another, each node's own flows keep their order.
        SimFlows.AssertRelayOrder(batch, TrafficShapes.Relay.MaxNodeLag);
        var flows = batch.Where(r => r.Flow is not null).ToList();
        Assert.True(flows.Count > batch.Count * 9 / 10, $"{flows.Count} flows of {batch.Count} messages");
        Assert.All(batch.Where(r => r.Flow is null), r => Assert.True(r.LostEvents is not null || r.NodeStatus is not null, $"{r}"));
        foreach (var r in flows)
        {
            var t = r.Time.Seconds * 1_000_000_000L + r.Time.Nanos;
            Assert.InRange(t, start, end - 1);
            Assert.Same(r.Time, r.Flow.Time);
            Assert.Equal(r.NodeName, r.Flow.NodeName);
            Assert.Matches("^sim-node-[1-5]$", r.NodeName);
        }
        Assert.Equal(flows.Count, flows.Select(r => r.Flow.Uuid).Distinct().Count());
        Assert.All(flows.Take(50), r => Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", r.Flow.Uuid));
    }

    [Fact]
    public void WithoutShapes_FlowsAreInTimeOrder()
    {
        var batch = SimFlows.Batch(ScenarioSet.All, TimeSpan.FromSeconds(20), shapes: TrafficShapes.None);
        for (var i = 1; i < batch.Count; i++) Assert.True(batch[i].Time >= batch[i - 1].Time, $"flow {i} went back in time");
    }

    [Theory]
    [InlineData(500)]
    [InlineData(5_000)]
    [InlineData(50_000)]
    public void Rate_IsKept_WithAllScenariosOn(double rate)
    {
        var seconds = rate >= 50_000 ? 2 : 20;
        // The rate is the traffic's, one flow per packet: counted on the sorted, singly observed twin, since the Relay shapes
        // add observations of the same packets (and lost_events, node_status) on top, which the second count shows.
        var count = SimFlows.Batch(ScenarioSet.All, TimeSpan.FromSeconds(seconds), rate, shapes: TrafficShapes.None).Count;
        var shaped = SimFlows.Batch(ScenarioSet.All, TimeSpan.FromSeconds(seconds), rate).Count(r => r.Flow is not null);
        var measured = count / (double)seconds;
        output.WriteLine($"asked {rate}/s, got {measured:F0}/s; with the Relay shapes {shaped / (double)seconds:F0} observations/s");
        Assert.True(shaped > count, $"{shaped} shaped flows vs {count} in the twin");
        // Conversations that would cross the end of a batch are left out whole, so a batch runs a little short.
        Assert.InRange(measured, rate * 0.85, rate * 1.05);
    }

    [Fact]
    public void LiveStream_EmitsInSlices_WithoutLosingOrReorderingFlows()
    {
        var gen = new TrafficGenerator(5, 4, ScenarioSet.All, 3_000);
        var stream = gen.Start(SimFlows.Start);
        var all = new List<FlowWatch.Hubble.Proto.Observer.GetFlowsResponse>();
        for (var ms = 7; ms <= 10_000; ms += 7) stream.EmitUntil(SimFlows.Start.AddMilliseconds(ms), all);
        // The same stream emitted in one go: slicing it loses, adds and reorders nothing.
        var whole = new List<FlowWatch.Hubble.Proto.Observer.GetFlowsResponse>();
        new TrafficGenerator(5, 4, ScenarioSet.All, 3_000).Start(SimFlows.Start).EmitUntil(SimFlows.Start.AddMilliseconds(9996), whole);
        Assert.Equal(whole, all);
        var flows = all.Where(r => r.Flow is not null).ToList();
        Assert.InRange(flows.Count, 25_000, 33_000 * 3 / 2);
        SimFlows.AssertRelayOrder(all, TrafficShapes.Relay.MaxNodeLag);
        Assert.Equal(flows.Count, flows.Select(r => r.Flow.Uuid).Distinct().Count());
        Assert.Equal(SimFlows.Start.AddMilliseconds(9996), stream.Position);
    }

    [Fact]
    public void Background_HasEveryKindOfHealthyTraffic()
    {
        var flows = Background.Value;
        Assert.True(flows.Count > 100_000, $"{flows.Count} flows");
        Assert.Contains(flows, f => IsHandshake(f, TcpFlags.Syn));
        Assert.Contains(flows, f => IsHandshake(f, TcpFlags.Syn | TcpFlags.Ack) && f.IsReply);
        Assert.Contains(flows, f => f.Protocol == L4Protocol.Tcp && f.TcpFlags == (TcpFlags.Fin | TcpFlags.Ack));
        Assert.Contains(flows, f => f.Protocol == L4Protocol.Udp && f.Kind == FlowKind.L3L4);
        Assert.Contains(flows, f => f.Protocol == L4Protocol.Icmpv4 && f.IcmpType == 8);
        Assert.Contains(flows, f => f.Protocol == L4Protocol.Icmpv4 && f.IcmpType == 0 && f.IsReply);
        foreach (var point in new[] { ObservationPoint.ToEndpoint, ObservationPoint.FromEndpoint, ObservationPoint.ToStack, ObservationPoint.ToProxy })
            Assert.Contains(flows, f => f.ObservationPoint == point);
        Assert.Contains(flows, f => f.Direction == TrafficDirection.Ingress);
        Assert.Contains(flows, f => f.Direction == TrafficDirection.Egress);
        Assert.Contains(flows, f => f.L7?.Http is { Code: 200 } && f.L7.Kind == L7Kind.Response);
        Assert.Contains(flows, f => SimFlows.IsDns(f, L7Kind.Response) && f.L7!.Dns!.Rcode == 0 && f.L7.Dns.AnswerCount == 1);
        Assert.Contains(flows, f => SimFlows.IsDns(f, L7Kind.Response) && f.L7!.Dns!.Rcode == 3);
        Assert.Contains(flows, f => f.Source.Identity == ReservedIdentity.Host);
        Assert.Contains(flows, f => f.Source.Identity == ReservedIdentity.World && SimulatedCluster.PeeredRange.Contains(f.SourceIp));
        Assert.Contains(flows, f => f.Source.Identity == ReservedIdentity.World && SimulatedCluster.InVpcRange.Contains(f.SourceIp));
        Assert.Contains(flows, f => f.Destination.Identity == ReservedIdentity.Health);
        Assert.All(flows, f => Assert.NotEqual(ReplyState.Unknown, f.Reply));
        Assert.All(flows.Where(f => f.Source.IsPod), f => Assert.NotEqual("", f.Source.Workload));
    }

    private static bool IsHandshake(FlowRecord f, TcpFlags flags) => f.Protocol == L4Protocol.Tcp && f.TcpFlags == flags;

    [Fact]
    public void Background_HasNoDropsNoRefusalsAndNoErrorAnswers()
    {
        var flows = Background.Value;
        Assert.DoesNotContain(flows, f => f.Verdict != Verdict.Forwarded);
        Assert.DoesNotContain(flows, f => f.DestinationPort == 53 && f.Verdict == Verdict.Dropped);
        Assert.DoesNotContain(flows, f => (f.TcpFlags & TcpFlags.Rst) != 0);
        Assert.DoesNotContain(flows, f => f.L7?.Http is { Code: >= 400 });
        Assert.DoesNotContain(flows, f => f.L7?.Dns is { } d && d.Rcode is not (0 or 3));
    }

    [Fact]
    public void Background_EveryDnsQuestionIsAnswered()
    {
        var flows = Background.Value;
        var requests = flows.Where(f => SimFlows.IsDns(f, L7Kind.Request)).ToList();
        var answered = flows.Where(f => SimFlows.IsDns(f, L7Kind.Response)).Select(SimFlows.DnsKey).ToHashSet();
        Assert.True(requests.Count > 1000);
        Assert.All(requests, r => Assert.Contains(SimFlows.DnsKey(r), answered));
        // NXDOMAIN answers are search-path expansions, never a name a workload really needs.
        Assert.All(flows.Where(f => f.L7?.Dns is { Rcode: 3 }), f => Assert.EndsWith(".svc.cluster.local.", f.L7!.Dns!.Query));
    }

    [Fact]
    public void Background_HasNoUnmanagedIdentity_AndNoIpNamedForTwoPods()
    {
        var flows = Background.Value;
        Assert.DoesNotContain(flows, f => f.Source.Identity == ReservedIdentity.Unmanaged || f.Destination.Identity == ReservedIdentity.Unmanaged);
        var podsByIp = new Dictionary<IpAddr, HashSet<string>>();
        foreach (var f in flows)
        {
            Add(f.SourceIp, f.Source);
            Add(f.DestinationIp, f.Destination);
        }
        Assert.All(podsByIp, kv => Assert.True(kv.Value.Count == 1, $"{kv.Key}: {string.Join(", ", kv.Value)}"));
        Assert.Contains(SimulatedCluster.DuplicateIp, podsByIp.Keys);

        void Add(IpAddr ip, FlowEndpoint e)
        {
            if (!e.IsPod) return;
            if (!podsByIp.TryGetValue(ip, out var set)) podsByIp[ip] = set = [];
            set.Add($"{e.Namespace}/{e.Pod}");
        }
    }

    [Fact]
    public void Background_EverySynIsSeenOnce_AndEveryHandshakeCompletes()
    {
        var flows = Background.Value;
        var syns = flows.Where(SimFlows.IsSyn).ToList();
        // Once per observation: a SYN between pods on two nodes is traced leaving the client's node and arriving at the server's,
        // and the server's node adds a policy-verdict event for the new connection; never twice in one observation (no retransmit).
        Assert.Equal(syns.Count, syns.Select(f => (SimFlows.Tuple(f), f.NodeName, f.EventType)).Distinct().Count());
        Assert.All(syns.GroupBy(SimFlows.Tuple), g => Assert.InRange(g.Count(), 1, 3));
        Assert.Contains(syns.GroupBy(SimFlows.Tuple), g => g.Count() > 1);
        var acked = flows.Where(f => SimFlows.IsPureAck(f) && !f.IsReply).Select(SimFlows.Tuple).ToHashSet();
        var synAcked = flows.Where(f => f.TcpFlags == (TcpFlags.Syn | TcpFlags.Ack)).Select(SimFlows.ReverseTuple).ToHashSet();
        Assert.All(syns, s =>
        {
            Assert.Contains(SimFlows.Tuple(s), synAcked);
            Assert.Contains(SimFlows.Tuple(s), acked);
        });
    }

    [Fact]
    public void Generator_RefusesABadRate()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrafficGenerator(1, 3, ScenarioSet.None, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrafficGenerator(1, 3, ScenarioSet.None, double.NaN));
    }
}
