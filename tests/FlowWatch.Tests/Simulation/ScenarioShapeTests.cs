using FlowWatch.Flows;
using FlowWatch.Simulation;

namespace FlowWatch.Tests.Simulation;

/// <summary>Each scenario's flows have the shape SCENARIOS.md promises, and nothing of another scenario's.</summary>
public sealed class ScenarioShapeTests
{
    private static readonly SimulatedCluster Cluster = new(7, 5);
    private static readonly TimeSpan Minute = TimeSpan.FromSeconds(60);

    // The sorted, singly observed twin: these tests count each scenario's packets (three SYNs, one answer per lookup) as one
    // observation point sees them. The Relay shapes only add observations of the same packets and leave every one of the twin's
    // flows as it is (RelayShapeTests.TheShapesAddToTheTwinsFlows_AndChangeNoneOfThem), and the detectors find the same on both
    // (RelayShapedStreamTests), so what holds here holds for the default stream too.
    private static List<FlowRecord> Run(string scenarios) => SimFlows.Records(ScenarioSet.Parse(scenarios), Minute, shapes: TrafficShapes.None);

    [Fact]
    public void DnsDrops_PolicyDenial_IsADroppedL7RequestFromCheckout_AnsweredRefusedByTheProxy()
    {
        var flows = Run("dns-drops");
        var denied = flows.Where(f => SimFlows.IsDns(f, L7Kind.Request) && f.Verdict == Verdict.Dropped).ToList();
        Assert.True(denied.Count >= 30, $"{denied.Count} denied lookups in a minute");
        Assert.All(denied, f =>
        {
            Assert.Equal(("shop", "checkout"), (f.Source.Namespace, f.Source.Workload));
            Assert.Equal(("kube-system", "coredns"), (f.Destination.Namespace, f.Destination.Workload));
            Assert.Equal("kube-system/kube-dns", f.DestinationService.ToString());
            Assert.Equal(Conversations.DeniedQuery, f.L7!.Dns!.Query);
            Assert.Equal((FlowKind.L7, CiliumEventTypes.AccessLog), (f.Kind, f.EventType));
            Assert.Equal((TrafficDirection.Egress, ReplyState.Request), (f.Direction, f.Reply));
        });
        var refused = flows.Where(f => SimFlows.IsDns(f, L7Kind.Response) && f.L7!.Dns!.Rcode == 5).ToDictionary(SimFlows.DnsKey);
        Assert.All(denied, d =>
        {
            var answer = refused[SimFlows.DnsKey(d)];
            Assert.Equal((Verdict.Forwarded, ReplyState.Reply), (answer.Verdict, answer.Reply));
            Assert.Equal((d.DestinationIp, d.SourceIp), (answer.SourceIp, answer.DestinationIp));
            Assert.InRange(answer.TimeNanos - d.TimeNanos, 1, 1_000_000);
        });
        Assert.Equal(denied.Count, refused.Count);
    }

    [Fact]
    public void DnsDrops_DatapathDrop_IsAnL4UdpDropToPort53FromCart_AndCartGetsNoAnswers()
    {
        var flows = Run("dns-drops");
        var drops = flows.Where(f => f.Kind == FlowKind.L3L4 && f.Verdict == Verdict.Dropped).ToList();
        Assert.True(drops.Count >= 30, $"{drops.Count} datapath drops");
        Assert.All(drops, f =>
        {
            Assert.Equal((L4Protocol.Udp, (ushort)53), (f.Protocol, f.DestinationPort));
            Assert.Equal(CiliumEventTypes.Drop, f.EventType);
            Assert.Equal("POLICY_DENIED", f.DropReasonName);
            Assert.Equal(("shop", "cart"), (f.Source.Namespace, f.Source.Workload));
            Assert.Equal("coredns", f.Destination.Workload);
        });
        Assert.DoesNotContain(flows, f => f.Kind == FlowKind.L7 && (f.Source.Workload == "cart" || f.Destination.Workload == "cart") && f.L7!.Dns is not null);
    }

    [Fact]
    public void DnsDrops_FrontendQuestionsForOneName_AreForwardedAndNeverAnswered()
    {
        var flows = Run("dns-drops");
        var asked = flows.Where(f => SimFlows.IsDns(f, L7Kind.Request) && f.L7!.Dns!.Query == Conversations.UnansweredQuery).ToList();
        Assert.True(asked.Count >= 30);
        Assert.All(asked, f => Assert.Equal(("web", "frontend", Verdict.Forwarded), (f.Source.Namespace, f.Source.Workload, f.Verdict)));
        Assert.DoesNotContain(flows, f => SimFlows.IsDns(f, L7Kind.Response) && f.L7!.Dns!.Query == Conversations.UnansweredQuery);
        // Frontend's other lookups are still answered: the fault is the one name.
        Assert.Contains(flows, f => SimFlows.IsDns(f, L7Kind.Response) && f.Destination.Workload == "frontend" && f.L7!.Dns!.Rcode == 0);
    }

    [Fact]
    public void DnsDrops_NxdomainComesOnlyFromBackgroundNames_AndNoOtherScenarioShows()
    {
        var flows = Run("dns-drops");
        Assert.All(flows.Where(f => f.L7?.Dns is { Rcode: 3 }), f =>
            Assert.DoesNotContain(f.L7!.Dns!.Query, new[] { Conversations.DeniedQuery, Conversations.UnansweredQuery }));
        AssertNoDuplicateIp(flows);
        AssertNoRetransmittedSyn(flows);
        AssertNoRefusal(flows);
    }

    [Fact]
    public void DuplicateIp_TheIpShowsAsUnmanaged_AsInventory_AndNowAndThenAsLegacyBatch()
    {
        var flows = Run("duplicate-ip");
        var ip = SimulatedCluster.DuplicateIp;
        var sides = flows.SelectMany(f => new[] { (Ip: f.SourceIp, E: f.Source, f.NodeName), (Ip: f.DestinationIp, E: f.Destination, f.NodeName) })
            .Where(s => s.Ip == ip).ToList();
        var unmanaged = sides.Where(s => s.E.Identity == ReservedIdentity.Unmanaged).ToList();
        Assert.True(unmanaged.Count >= 100, $"{unmanaged.Count} unmanaged sightings");
        Assert.All(unmanaged, s => Assert.False(s.E.IsPod));
        Assert.Contains(sides, s => s.E.Pod == Cluster.DuplicateIpPod.Name && s.E.Identity == Cluster.Inventory.Identity);
        var named = sides.Where(s => s.E.Pod == Cluster.UnmanagedPod.Name).ToList();
        Assert.NotEmpty(named);
        Assert.All(named, s => Assert.NotEqual("sim-node-3", s.NodeName));
        Assert.True(named.Count < unmanaged.Count, "the stale attribution is occasional");
        var sawInventory = sides.Count(s => s.E.Pod == Cluster.DuplicateIpPod.Name);
        Assert.True(sawInventory > unmanaged.Count, "the managed pod owns the IP in most flows");
        // Only this IP is shared; nothing else of another scenario.
        var podsByIp = flows.SelectMany(f => new[] { (f.SourceIp, f.Source), (f.DestinationIp, f.Destination) })
            .Where(s => s.Item2.IsPod).GroupBy(s => s.Item1).Where(g => g.Select(s => s.Item2.Pod).Distinct().Count() > 1).Select(g => g.Key).ToList();
        Assert.Equal(new[] { ip }, podsByIp);
        Assert.DoesNotContain(flows, f => f.Verdict == Verdict.Dropped);
        AssertNoRetransmittedSyn(flows);
        AssertNoRefusal(flows);
    }

    [Fact]
    public void Asymmetric_PeeredClientsOfTheSecondaryEniPod_RetransmitTheSameSyn_GetSynAcks_NeverAck()
    {
        var flows = Run("asymmetric");
        var pod = Cluster.AsymmetricPod;
        var synsByTuple = flows.Where(f => SimFlows.IsSyn(f) && f.DestinationIp == pod.Ip && SimulatedCluster.PeeredRange.Contains(f.SourceIp))
            .GroupBy(SimFlows.Tuple).ToList();
        Assert.True(synsByTuple.Count >= 10, $"{synsByTuple.Count} peered handshakes to {pod}");
        var acks = flows.Where(f => SimFlows.IsPureAck(f) && !f.IsReply).Select(SimFlows.Tuple).ToHashSet();
        var synAcks = flows.Where(f => f.TcpFlags == (TcpFlags.Syn | TcpFlags.Ack)).GroupBy(SimFlows.ReverseTuple).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var g in synsByTuple)
        {
            var syns = g.OrderBy(f => f.TimeNanos).ToList();
            Assert.Equal(3, syns.Count);
            Assert.InRange(syns[1].TimeNanos - syns[0].TimeNanos, 900_000_000L, 1_100_000_000L);
            Assert.InRange(syns[2].TimeNanos - syns[0].TimeNanos, 2_900_000_000L, 3_100_000_000L);
            Assert.All(syns, s =>
            {
                Assert.Equal((ObservationPoint.ToEndpoint, Verdict.Forwarded, ReplyState.Request, TrafficDirection.Ingress),
                    (s.ObservationPoint, s.Verdict, s.Reply, s.Direction));
                Assert.Equal(ReservedIdentity.World, s.Source.Identity);
                Assert.Equal(pod.Name, s.Destination.Pod);
            });
            var replies = synAcks[g.Key];
            Assert.Equal(3, replies.Count);
            Assert.All(replies, r => Assert.Equal((ReplyState.Reply, ObservationPoint.FromEndpoint), (r.Reply, r.ObservationPoint)));
            Assert.DoesNotContain(g.Key, acks);
        }
    }

    [Fact]
    public void Asymmetric_InVpcClientsOfThatPod_AndPeeredClientsOfItsSibling_Complete()
    {
        var flows = Run("asymmetric");
        var acks = flows.Where(f => SimFlows.IsPureAck(f) && !f.IsReply).Select(SimFlows.Tuple).ToHashSet();
        var inVpc = flows.Where(f => SimFlows.IsSyn(f) && f.DestinationIp == Cluster.AsymmetricPod.Ip && SimulatedCluster.InVpcRange.Contains(f.SourceIp)).ToList();
        var sibling = flows.Where(f => SimFlows.IsSyn(f) && f.DestinationIp == Cluster.HealthyLedgerPod.Ip && SimulatedCluster.PeeredRange.Contains(f.SourceIp)).ToList();
        Assert.True(inVpc.Count >= 10 && sibling.Count >= 10, $"{inVpc.Count} in-VPC, {sibling.Count} sibling handshakes");
        Assert.All(inVpc.Concat(sibling), s => Assert.Contains(SimFlows.Tuple(s), acks));
        // Retransmitted SYNs exist only towards the secondary-ENI pod, only from the peered range.
        var retransmitted = flows.Where(SimFlows.IsSyn).GroupBy(SimFlows.Tuple).Where(g => g.Count() > 1).ToList();
        Assert.NotEmpty(retransmitted);
        Assert.All(retransmitted, g =>
        {
            Assert.Equal(Cluster.AsymmetricPod.Ip, g.Key.Item3);
            Assert.True(SimulatedCluster.PeeredRange.Contains(g.Key.Item1));
        });
        Assert.DoesNotContain(flows, f => f.Verdict == Verdict.Dropped);
        AssertNoDuplicateIp(flows);
        AssertNoRefusal(flows);
    }

    [Fact]
    public void NodePortBackend_BackendB_RefusesMostHandshakesAndAnswers503_SiblingsAnswer200()
    {
        var flows = Run("nodeport-backend");
        var b = Cluster.FailingBackend;
        var toB = flows.Where(f => SimFlows.IsSyn(f) && f.DestinationIp == b.Ip).ToList();
        var resets = flows.Where(f => (f.TcpFlags & TcpFlags.Rst) != 0).ToList();
        Assert.True(toB.Count >= 50, $"{toB.Count} handshakes to {b}");
        Assert.All(resets, r =>
        {
            Assert.Equal(b.Ip, r.SourceIp);
            Assert.Equal((ReplyState.Reply, TcpFlags.Rst | TcpFlags.Ack), (r.Reply, r.TcpFlags));
        });
        Assert.InRange(resets.Count / (double)toB.Count, 0.6, 0.9);
        var responses = flows.Where(f => f.L7?.Http is not null && f.L7.Kind == L7Kind.Response && f.Source.Workload == "storefront").ToList();
        Assert.All(responses.Where(r => r.SourceIp == b.Ip), r => Assert.Equal(503, r.L7!.Http!.Code));
        Assert.Contains(responses, r => r.SourceIp == b.Ip);
        foreach (var healthy in Cluster.StorefrontBackends.Where(p => p != b))
        {
            Assert.Contains(responses, r => r.SourceIp == healthy.Ip);
            Assert.All(responses.Where(r => r.SourceIp == healthy.Ip), r => Assert.Equal(200, r.L7!.Http!.Code));
        }
        // Outside clients from both ranges, already translated to the pod's 8080; the service named on some flows only.
        var inbound = flows.Where(f => SimFlows.IsSyn(f) && f.Destination.Workload == "storefront" && f.Source.Identity == ReservedIdentity.World).ToList();
        Assert.All(inbound, f => Assert.Equal(8080, f.DestinationPort));
        Assert.Contains(inbound, f => SimulatedCluster.PeeredRange.Contains(f.SourceIp));
        Assert.Contains(inbound, f => SimulatedCluster.InVpcRange.Contains(f.SourceIp));
        Assert.Contains(inbound, f => f.DestinationService.ToString() == "web/storefront");
        Assert.Contains(inbound, f => f.DestinationService.IsEmpty);
        AssertNoRetransmittedSyn(flows);
        AssertNoDuplicateIp(flows);
        Assert.DoesNotContain(flows, f => f.Verdict == Verdict.Dropped);
    }

    [Fact]
    public void ScenariosOff_TheirTargetsAreHealthy()
    {
        var flows = SimFlows.Records(ScenarioSet.None, Minute);
        var acks = flows.Where(f => SimFlows.IsPureAck(f) && !f.IsReply).Select(SimFlows.Tuple).ToHashSet();
        var toLedger = flows.Where(f => SimFlows.IsSyn(f) && f.DestinationIp == Cluster.AsymmetricPod.Ip && SimulatedCluster.PeeredRange.Contains(f.SourceIp)).ToList();
        Assert.NotEmpty(toLedger);
        Assert.All(toLedger, s => Assert.Contains(SimFlows.Tuple(s), acks));
        Assert.Contains(flows, f => f.L7?.Http is { Code: 200 } && f.SourceIp == Cluster.FailingBackend.Ip);
        Assert.Contains(flows, f => SimFlows.IsDns(f, L7Kind.Response) && f.Destination.Workload == "cart");
    }

    private static void AssertNoDuplicateIp(List<FlowRecord> flows) =>
        Assert.DoesNotContain(flows, f => f.Source.Identity == ReservedIdentity.Unmanaged || f.Destination.Identity == ReservedIdentity.Unmanaged);

    private static void AssertNoRetransmittedSyn(List<FlowRecord> flows)
    {
        var syns = flows.Where(SimFlows.IsSyn).ToList();
        Assert.Equal(syns.Count, syns.Select(SimFlows.Tuple).Distinct().Count());
    }

    private static void AssertNoRefusal(List<FlowRecord> flows) => Assert.DoesNotContain(flows, f => (f.TcpFlags & TcpFlags.Rst) != 0);
}
