using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Simulation;

namespace FlowWatch.Tests.Simulation;

/// <summary>The simulator's default stream has a Relay's shapes; its sorted twin is the same traffic without them.</summary>
public sealed class RelayShapeTests
{
    private static readonly TimeSpan Span = TimeSpan.FromSeconds(120);

    private static List<GetFlowsResponse> Batch(TrafficShapes shapes, string scenarios = "all") =>
        new TrafficGenerator(7, 5, ScenarioSet.Parse(scenarios), 1_000) { Shapes = shapes }.Generate(SimFlows.Start, Span).ToList();

    private static long Nanos(GetFlowsResponse r) => r.Time.Seconds * 1_000_000_000L + r.Time.Nanos;

    [Fact]
    public void ByDefault_NodesLagEachOther_ButEachNodesOwnFlowsKeepTheirOrder()
    {
        var batch = Batch(TrafficShapes.Relay).Where(r => r.Flow is not null).ToList();
        long newest = 0, worst = 0;
        var perNode = new Dictionary<string, long>();
        foreach (var r in batch)
        {
            var t = Nanos(r);
            worst = Math.Max(worst, newest - t);
            newest = Math.Max(newest, t);
            Assert.True(t >= perNode.GetValueOrDefault(r.NodeName), $"{r.NodeName}'s flows went back in time");
            perNode[r.NodeName] = t;
        }
        var lag = TimeSpan.FromTicks(worst / 100);
        Assert.InRange(lag, TimeSpan.FromMilliseconds(500), TrafficShapes.Relay.MaxNodeLag + TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public void WithoutShapes_TheStreamIsSorted_AndHoldsNothingButFlows()
    {
        var batch = Batch(TrafficShapes.None);
        Assert.All(batch, r => Assert.NotNull(r.Flow));
        for (var i = 1; i < batch.Count; i++) Assert.True(Nanos(batch[i]) >= Nanos(batch[i - 1]), $"message {i} goes back in time");
        Assert.DoesNotContain(batch, r => r.Flow.EventType.Type == 5);
        Assert.DoesNotContain(batch, r => r.Flow.TraceObservationPoint == TraceObservationPoint.ToStack && r.Flow.Source.PodName.Length > 0
            && r.Flow.Destination.PodName.Length > 0);
    }

    [Fact]
    public void TheShapesAddToTheTwinsFlows_AndChangeNoneOfThem()
    {
        var twin = Batch(TrafficShapes.None);
        var shaped = Batch(TrafficShapes.Relay).Where(r => r.Flow is not null).ToDictionary(r => r.Flow.Uuid);
        foreach (var r in twin)
        {
            Assert.True(shaped.TryGetValue(r.Flow.Uuid, out var same), $"twin flow {r.Flow.Uuid} missing from the shaped stream");
            Assert.Equal(r.Flow, same!.Flow);
        }
        Assert.True(shaped.Count > twin.Count * 11 / 10, $"{shaped.Count} shaped flows vs {twin.Count}");
    }

    [Fact]
    public void CrossNodePackets_AreSeenLeavingTheSourceNode_AndArrivingAtTheDestinationNode()
    {
        var batch = Batch(TrafficShapes.Relay, "none").Where(r => r.Flow is not null).Select(r => r.Flow).ToList();
        var arrivals = batch.Where(f => f.TraceObservationPoint == TraceObservationPoint.ToEndpoint && f.L4?.TCP is not null
            && f.Source.PodName.Length > 0 && f.Destination.PodName.Length > 0).ToList();
        var departures = batch.Where(f => f.TraceObservationPoint == TraceObservationPoint.ToStack && f.L4?.TCP is not null
            && f.Source.PodName.Length > 0 && f.Destination.PodName.Length > 0)
            .ToLookup(f => (f.IP.Source, f.L4.TCP.SourcePort, f.IP.Destination, f.L4.TCP.DestinationPort, f.L4.TCP.Flags.SYN, f.L4.TCP.Flags.ACK));
        var crossNode = 0;
        foreach (var a in arrivals)
        {
            var key = (a.IP.Source, a.L4.TCP.SourcePort, a.IP.Destination, a.L4.TCP.DestinationPort, a.L4.TCP.Flags.SYN, a.L4.TCP.Flags.ACK);
            var seen = departures[key].Where(d => d.NodeName != a.NodeName).ToList();
            if (seen.Count == 0) continue;
            crossNode++;
            // The same flags recur in one connection (two ACKs): one of the departures is this packet, just before it arrived.
            var lead = Nanos(a.Time) - seen.Select(d => Nanos(d.Time)).Where(t => t <= Nanos(a.Time)).DefaultIfEmpty(long.MinValue).Max();
            Assert.InRange(lead, 0, FlowFactory.ExtraLeadNanos);
        }
        Assert.True(crossNode > 1000, $"only {crossNode} packets were seen on two nodes");
        Assert.Contains(batch, f => f.EventType.Type == 5 && f.Verdict == FlowWatch.Hubble.Proto.Flow.Verdict.Forwarded);
    }

    private static long Nanos(Google.Protobuf.WellKnownTypes.Timestamp t) => t.Seconds * 1_000_000_000L + t.Nanos;

    [Fact]
    public void LostEventsAndNodeStatus_ComeNowAndThen()
    {
        var batch = Batch(TrafficShapes.Relay, "none");
        var lost = batch.Where(r => r.LostEvents is not null).ToList();
        var status = batch.Where(r => r.NodeStatus is not null).ToList();
        Assert.InRange(lost.Count, 2, 20);
        Assert.InRange(status.Count, 1, 10);
        Assert.All(lost, r => Assert.StartsWith("sim-node-", r.NodeName));
        Assert.All(status, r => Assert.Equal(FlowWatch.Hubble.Proto.Relay.NodeState.NodeConnected, r.NodeStatus.StateChange));
    }

    [Fact]
    public void AClockSkewedNode_StampsItsFlowsBehind_OnRequestOnly()
    {
        var skewed = TrafficShapes.Relay with { ClockSkew = -TimeSpan.FromMinutes(10), SkewedNode = 3 };
        var batch = Batch(skewed, "none").Where(r => r.Flow is not null).ToList();
        var start = FlowRecord.ToNanos(SimFlows.Start);
        Assert.All(batch.Where(r => r.NodeName == "sim-node-3"), r => Assert.True(Nanos(r) < start, "sim-node-3 is not behind"));
        Assert.All(batch.Where(r => r.NodeName != "sim-node-3"), r => Assert.True(Nanos(r) >= start));
        Assert.All(Batch(TrafficShapes.Relay, "none").Where(r => r.Flow is not null), r => Assert.True(Nanos(r) >= start));
    }
}
