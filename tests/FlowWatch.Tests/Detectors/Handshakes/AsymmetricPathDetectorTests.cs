using FlowWatch.Detectors.Asymmetric;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using static FlowWatch.Tests.Detectors.Handshakes.HandshakeHarness;
using static FlowWatch.Tests.Detectors.Handshakes.TcpFlows;

namespace FlowWatch.Tests.Detectors.Handshakes;

/// <summary>Asymmetric paths: many replies lost from one peer range to one pod, in event time.</summary>
public sealed class AsymmetricPathDetectorTests
{
    private static readonly FlowEndpoint LedgerA = Pod("payments", "ledger", "a");
    private static readonly FlowEndpoint LedgerB = Pod("payments", "ledger", "b");
    private static readonly Side OnSecondary = Server(LedgerA, "10.1.2.23", 8443);
    private static readonly Side OnPrimary = Server(LedgerB, "10.1.4.40", 8443);
    private const string IdA = "asymmetric_path/payments/ledger-6b9f7c-a/172.31.8.0/24";
    private const string IdB = "asymmetric_path/payments/ledger-6b9f7c-b/172.31.8.0/24";

    private static Side Peered(int i) => Client($"172.31.8.{10 + i % 200}", (ushort)(40000 + i));
    private static Side InVpc(int i) => Client($"10.0.50.{10 + i % 200}", (ushort)(41000 + i));

    private double Gauge(HandshakeHarness h, string range = "172.31.8.0/24") =>
        h.Metric("flowwatch_asymmetric_paths", ("namespace", "payments"), ("workload", "ledger"), ("peer_range", range));

    /// <summary>A peered client to the pod every 2 s (replies lost) and an in-VPC client every 2 s (fine), for the given seconds.</summary>
    private static void Incident(HandshakeHarness h, Side pod, double from, double to)
    {
        var i = 0;
        for (var t = from; t < to; t += 2, i++)
        {
            h.ReplyLost(t, Peered(i), pod);
            h.Completed(t + 1, InVpc(i), pod);
        }
    }

    [Fact]
    public void RaisesAFinding_WhenRepliesToOnePeerRangeAreLost_WhileOtherRangesComplete()
    {
        using var h = new HandshakeHarness();
        Incident(h, OnSecondary, 0, 30);
        h.AdvanceTo(45);
        var f = h.Latest(IdA);
        Assert.NotNull(f);
        Assert.Equal(FindingKind.AsymmetricPath, f.Kind);
        Assert.Equal(("payments", "ledger", "ledger-6b9f7c-a", "172.31.8.0/24"), (f.Subject.Namespace, f.Subject.Workload, f.Subject.Pod, f.Subject.PeerRange));
        Assert.True(f.Evidence["reply_lost"] >= 5);
        Assert.True(f.Evidence["other_ranges_completed"] > 0);
        Assert.Contains("10.0.50.0/24", f.Summary);
        Assert.Contains("reverse-path", f.Summary);
        Assert.Equal(1, Gauge(h));
        // The in-VPC range completes and raises nothing.
        Assert.DoesNotContain(h.Findings, x => x.Subject.PeerRange == "10.0.50.0/24");
    }

    [Fact]
    public void OneSlowHandshake_AndOneLostReply_AreNotAFinding()
    {
        using var h = new HandshakeHarness();
        var c = Peered(1);
        h.Push(FromClient(At(1), c, OnSecondary, Syn));
        h.Push(FromClient(At(2), c, OnSecondary, Syn));
        h.Push(FromServer(At(2.001), c, OnSecondary, SynAck));
        h.Push(FromClient(At(2.002), c, OnSecondary, Ack));
        h.ReplyLost(5, Peered(2), OnSecondary);
        for (var i = 0; i < 10; i++) h.Completed(20 + i, Peered(10 + i), OnSecondary);
        h.AdvanceTo(300);
        Assert.Empty(h.Findings);
        Assert.Equal(0, Gauge(h) is double.NaN ? 0 : Gauge(h));
    }

    [Fact]
    public void PodsThatNeverAnswer_AreTimeouts_NotAnAsymmetricPath()
    {
        using var h = new HandshakeHarness();
        for (var i = 0; i < 20; i++)
            foreach (var retry in new[] { 0.0, 1.0, 3.0 })
                h.Push(FromClient(At(i * 2 + retry), Peered(i), OnSecondary, Syn));
        h.AdvanceTo(120);
        Assert.Empty(h.Findings);
        Assert.Equal(20, h.Metric("flowwatch_tcp_handshakes_total", ("namespace", "payments"), ("workload", "ledger"), ("outcome", "timeout")));
    }

    [Fact]
    public void Resolves_AfterTheProblemStops_AndTheGaugeGoesBackToZero()
    {
        var options = new AsymmetricPathOptions { QuietPeriod = TimeSpan.FromSeconds(60) };
        using var h = new HandshakeHarness(options);
        Incident(h, OnSecondary, 0, 30);
        h.AdvanceTo(40);
        Assert.Equal(FindingState.Open, h.Latest(IdA)!.State);
        Assert.Equal(1, Gauge(h));
        // Fixed: the peered clients now complete.
        for (var t = 40.0; t < 200; t += 2) h.Completed(t, Peered((int)t), OnSecondary);
        h.AdvanceTo(400);
        Assert.Equal(FindingState.Resolved, h.Latest(IdA)!.State);
        Assert.Equal(0, Gauge(h));
        Assert.Empty(h.Pipeline.Book.OpenFindings);
    }

    [Fact]
    public void SecondaryEni_GivesHighConfidence_WhileTheSiblingOnThePrimaryEniGetsNone()
    {
        using var h = new HandshakeHarness();
        h.Apply(new EniAddressState("node-2", OnSecondary.Ip, "eth1", Primary: false));
        h.Apply(new EniAddressState("node-4", OnPrimary.Ip, "eth0", Primary: true));
        Incident(h, OnSecondary, 0, 30);
        // The same peered range reaches the sibling on the primary ENI just fine.
        for (var t = 0.5; t < 30; t += 2) h.Completed(t, Peered(500 + (int)t), OnPrimary);
        h.AdvanceTo(45);
        var f = h.Latest(IdA);
        Assert.NotNull(f);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Equal(1, f.Evidence["secondary_eni"]);
        Assert.True(f.Evidence["confidence_pct"] >= 90, $"confidence {f.Evidence["confidence_pct"]}");
        Assert.Contains("secondary interface eth1", f.Summary);
        Assert.Null(h.Latest(IdB));
    }

    [Fact]
    public void WithoutEniState_TheFindingIsAWarning_AndPrimaryEniLowersConfidence()
    {
        using var unknown = new HandshakeHarness();
        Incident(unknown, OnSecondary, 0, 30);
        unknown.AdvanceTo(45);
        using var primary = new HandshakeHarness();
        primary.Apply(new EniAddressState("node-2", OnSecondary.Ip, "eth0", Primary: true));
        Incident(primary, OnSecondary, 0, 30);
        primary.AdvanceTo(45);
        var u = unknown.Latest(IdA)!;
        var p = primary.Latest(IdA)!;
        Assert.Equal(Severity.Warning, u.Severity);
        Assert.True(p.Evidence["confidence_pct"] < u.Evidence["confidence_pct"]);
    }

    [Fact]
    public void ConfiguredPeerRanges_GroupClientsAcrossTheirSubnets()
    {
        var options = new AsymmetricPathOptions { PeerRanges = [IpPrefix.Parse("172.31.0.0/16")] };
        using var h = new HandshakeHarness(options);
        // Five lost replies, each from a different /24: no /24 alone has enough, the configured range does.
        for (var i = 0; i < 5; i++) h.ReplyLost(i * 2, Client($"172.31.{i * 40}.9", (ushort)(40000 + i)), OnSecondary);
        h.AdvanceTo(30);
        var f = Assert.Single(h.Findings);
        Assert.Equal("172.31.0.0/16", f.Subject.PeerRange);

        using var byDefault = new HandshakeHarness();
        for (var i = 0; i < 5; i++) byDefault.ReplyLost(i * 2, Client($"172.31.{i * 40}.9", (ushort)(40000 + i)), OnSecondary);
        byDefault.AdvanceTo(30);
        Assert.Empty(byDefault.Findings);
    }

    [Fact]
    public void IngressLostInTheNode_IsTheSameFinding()
    {
        using var h = new HandshakeHarness();
        for (var i = 0; i < 8; i++)
            foreach (var retry in new[] { 0.0, 1.0, 3.0 })
                h.Push(FromClient(At(i * 2 + retry), Peered(i), OnSecondary, Syn, ObservationPoint.FromNetwork));
        h.AdvanceTo(40);
        var f = h.Latest(IdA);
        Assert.NotNull(f);
        Assert.True(f.Evidence["ingress_lost"] >= 5);
        Assert.Contains("never reached the pod", f.Summary);
    }
}
