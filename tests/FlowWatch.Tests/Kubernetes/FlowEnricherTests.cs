using System.Reflection;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using static FlowWatch.Tests.Kube.KubeObjects;

namespace FlowWatch.Tests.Kube;

/// <summary>Naming pods behind IP-only flows from the cluster view.</summary>
public sealed class FlowEnricherTests
{
    private static readonly FlowEnricher Enricher = Build();

    private static FlowEnricher Build()
    {
        var view = new ClusterView(_ => { });
        view.Pods.Upsert(Pod("shop", "api-6d5f7c8b9-bbbbb", "n1", "10.4.0.9", T0, owner: "api-6d5f7c8b9"));
        view.Pods.Upsert(Pod("shop", "done-0", "n1", "10.4.0.10", T0, phase: "Succeeded"));
        return new FlowEnricher(view);
    }

    private static FlowRecord Flow(uint srcIdentity, string srcPod = "") => new()
    {
        TimeNanos = 123, Uuid = "u", NodeName = "n1", Verdict = Verdict.Dropped, DropReason = 133, Kind = FlowKind.L3L4,
        EventType = 1, EventSubType = 2, SourceIp = IpAddr.Parse("10.4.0.9"), DestinationIp = IpAddr.Parse("10.4.0.10"),
        Protocol = L4Protocol.Tcp, SourcePort = 1234, DestinationPort = 80, TcpFlags = TcpFlags.Syn, IcmpType = 3, IcmpCode = 4,
        Source = new FlowEndpoint(srcIdentity, srcPod.Length == 0 ? "" : "other", srcPod, "", ""),
        Destination = FlowEndpoint.Empty, SourceService = new ServiceRef("a", "b"), DestinationService = new ServiceRef("c", "d"),
        Reply = ReplyState.Reply, Direction = TrafficDirection.Ingress, ObservationPoint = default,
        L7 = new L7Record { Kind = L7Kind.Response },
    };

    [Fact]
    public void IpOnlyEndpoint_GetsNamespacePodAndWorkload_AndEveryOtherFieldIsKept()
    {
        var flow = Flow(srcIdentity: 12345);
        var e = Enricher.Enrich(flow);
        Assert.Equal(new FlowEndpoint(12345, "shop", "api-6d5f7c8b9-bbbbb", "api", ""), e.Source);
        Assert.False(e.Destination.IsPod); // not running: never named
        foreach (var p in typeof(FlowRecord).GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (p.Name is not nameof(FlowRecord.Source) and not nameof(FlowRecord.Destination))
                Assert.Equal(p.GetValue(flow), p.GetValue(e));
    }

    [Fact]
    public void NamedOrReservedEndpoints_AreLeftAlone()
    {
        var named = Flow(12345, "api-other");
        Assert.Same(named, Enricher.Enrich(named));
        var unmanaged = Flow(ReservedIdentity.Unmanaged);
        Assert.Same(unmanaged, Enricher.Enrich(unmanaged));
        var world = Flow(ReservedIdentity.World);
        Assert.Same(world, Enricher.Enrich(world));
    }
}
