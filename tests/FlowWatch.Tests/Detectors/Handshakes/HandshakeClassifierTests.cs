using FlowWatch.Detectors.Handshakes;
using FlowWatch.Flows;
using static FlowWatch.Tests.Detectors.Handshakes.HandshakeHarness;
using static FlowWatch.Tests.Detectors.Handshakes.TcpFlows;

namespace FlowWatch.Tests.Detectors.Handshakes;

/// <summary>Each handshake to a pod is classified once, by what the flows show, in event time.</summary>
public sealed class HandshakeClassifierTests
{
    private static readonly Side Client1 = Client("172.31.8.20", 40001);
    private static readonly Side Ledger = Server(Pod("payments", "ledger", "x1"), "10.1.2.23", 8443);

    private static ClassifiedHandshake Single(HandshakeHarness h) => Assert.Single(h.Handshakes);

    [Fact]
    public void Completed_WhenSynSynAckAndAckAreSeen_DecidedOnTheAck()
    {
        using var h = new HandshakeHarness();
        h.Completed(1, Client1, Ledger);
        var hs = Single(h);
        Assert.Equal(HandshakeOutcome.Completed, hs.Outcome);
        Assert.Equal(At(1.002), hs.DecidedAt);
        Assert.Equal(("payments", "ledger"), (hs.ServerNamespace, hs.ServerWorkload));
        Assert.Equal(1, h.Metric("flowwatch_tcp_handshakes_total", ("namespace", "payments"), ("workload", "ledger"), ("outcome", "completed")));
    }

    [Fact]
    public void ReplyLost_WhenSynAckSeenAndSynRetransmitted_AndNoAckComes()
    {
        using var h = new HandshakeHarness();
        h.ReplyLost(1, Client1, Ledger);
        h.AdvanceTo(10);
        Assert.Empty(h.Handshakes); // not decided before the handshake timeout
        h.AdvanceTo(12);
        var hs = Single(h);
        Assert.Equal(HandshakeOutcome.ReplyLost, hs.Outcome);
        Assert.Equal(3, hs.SynTransmissions);
        Assert.Equal(3, hs.SynAcks);
        Assert.Equal(1, h.Metric("flowwatch_tcp_handshakes_total", ("namespace", "payments"), ("workload", "ledger"), ("outcome", "reply_lost")));
    }

    [Fact]
    public void Timeout_NotReplyLost_WhenTheSynGetsNoReplyAtAll()
    {
        using var h = new HandshakeHarness();
        foreach (var retry in new[] { 0.0, 1.0, 3.0, 7.0 }) h.Push(FromClient(At(1 + retry), Client1, Ledger, Syn));
        h.AdvanceTo(15);
        var hs = Single(h);
        Assert.Equal(HandshakeOutcome.Timeout, hs.Outcome);
        Assert.True(hs.SynReachedPod);
        Assert.Equal(4, hs.SynTransmissions);
    }

    [Fact]
    public void SlowHandshake_SynRetransmittedThenCompleted_IsCompleted()
    {
        using var h = new HandshakeHarness();
        h.Push(FromClient(At(1), Client1, Ledger, Syn));
        h.Push(FromServer(At(1.001), Client1, Ledger, SynAck));
        h.Push(FromClient(At(2), Client1, Ledger, Syn));
        h.Push(FromServer(At(2.001), Client1, Ledger, SynAck));
        h.Push(FromClient(At(2.002), Client1, Ledger, Ack));
        h.AdvanceTo(30);
        var hs = Single(h);
        Assert.Equal(HandshakeOutcome.Completed, hs.Outcome);
        Assert.Equal(2, hs.SynTransmissions);
    }

    [Fact]
    public void Refused_WhenThePodAnswersRst()
    {
        using var h = new HandshakeHarness();
        h.Refused(1, Client1, Ledger);
        Assert.Equal(HandshakeOutcome.Refused, Single(h).Outcome);
    }

    [Fact]
    public void Dropped_WhenTheSynIsDropped_KeepsTheReason()
    {
        using var h = new HandshakeHarness();
        h.Push(FromClient(At(1), Client1, Ledger, Syn, ObservationPoint.Unknown, Verdict.Dropped, dropReason: 133));
        var hs = Single(h);
        Assert.Equal(HandshakeOutcome.Dropped, hs.Outcome);
        Assert.Equal("POLICY_DENIED", hs.DropReasonName);
    }

    [Fact]
    public void IngressLost_WhenTheSynArrivesFromTheNetworkButNeverReachesThePod()
    {
        using var h = new HandshakeHarness();
        foreach (var retry in new[] { 0.0, 1.0, 3.0 })
            h.Push(FromClient(At(1 + retry), Client1, Ledger, Syn, ObservationPoint.FromNetwork));
        h.AdvanceTo(15);
        var hs = Single(h);
        Assert.Equal(HandshakeOutcome.IngressLost, hs.Outcome);
        Assert.False(hs.SynReachedPod);
    }

    [Fact]
    public void OnePacketSeenAtTwoPoints_IsOneTransmission()
    {
        using var h = new HandshakeHarness();
        h.Push(FromClient(At(1), Client1, Ledger, Syn, ObservationPoint.FromNetwork));
        h.Push(FromClient(At(1.0002), Client1, Ledger, Syn, ObservationPoint.ToEndpoint));
        h.Push(FromServer(At(1.001), Client1, Ledger, SynAck));
        h.Push(FromServer(At(1.0012), Client1, Ledger, SynAck, ObservationPoint.ToNetwork));
        h.AdvanceTo(15);
        var hs = Single(h);
        Assert.Equal(HandshakeOutcome.Incomplete, hs.Outcome);
        Assert.Equal((1, 1), (hs.SynTransmissions, hs.SynAcks));
    }

    [Fact]
    public void MidStreamPackets_WithoutASyn_OpenNothing()
    {
        using var h = new HandshakeHarness();
        h.Push(FromClient(At(1), Client1, Ledger, PshAck));
        h.Push(FromServer(At(1.1), Client1, Ledger, PshAck));
        h.AdvanceTo(30);
        Assert.Empty(h.Handshakes);
        Assert.Equal(0, h.Classifier.TableCount);
    }

    [Fact]
    public void PolicyVerdictEvents_AreNotTraces_AndOpenNothing_UnlessTheyDrop()
    {
        using var h = new HandshakeHarness();
        var verdict = FromClient(At(1), Client1, Ledger, Syn, ObservationPoint.Unknown, Verdict.Redirected);
        h.Push(new FlowRecord
        {
            TimeNanos = verdict.TimeNanos, Verdict = Verdict.Redirected, Kind = FlowKind.L3L4, EventType = CiliumEventTypes.PolicyVerdict,
            SourceIp = verdict.SourceIp, DestinationIp = verdict.DestinationIp, Protocol = L4Protocol.Tcp,
            SourcePort = verdict.SourcePort, DestinationPort = verdict.DestinationPort, TcpFlags = Syn,
            Source = verdict.Source, Destination = verdict.Destination, Reply = ReplyState.Request,
        });
        h.AdvanceTo(30);
        Assert.Empty(h.Handshakes);
        Assert.Equal(0, h.Classifier.TableCount);
    }
}
