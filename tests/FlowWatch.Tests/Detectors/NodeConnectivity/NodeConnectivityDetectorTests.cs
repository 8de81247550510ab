using FlowWatch.Detectors.NodeConnectivity;
using FlowWatch.Findings;
using FlowWatch.Flows;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Detectors.NodeConnectivity;

/// <summary>The node-connectivity detector in virtual time: one collapsed node is found fast and named once; the
/// failures that only look alike (one pod, one service, a policy, the internet, a silent node, everything) are not.</summary>
public sealed class NodeConnectivityDetectorTests(ITestOutputHelper output)
{
    private const double Onset = 60;
    private const string Id = "node_connectivity/node-3";

    private static Shape Healthy(TestPod c, TestPod s, double t) => Shape.Completed;

    private static Func<TestPod, TestPod, double, Shape> Collapse(string node, double from, double until = double.MaxValue) =>
        (c, s, t) => (c.Node == node || s.Node == node) && t >= from && t < until ? Shape.Timeout : Shape.Completed;

    [Fact]
    public void CollapsedNode_IsFoundWithinAMinute_AsOneCriticalFinding_NamingNodeAgentPeersAndWhatToDo()
    {
        using var h = new NodeTraffic();
        h.Connections(0, 180, Collapse("node-3", Onset));
        h.Run(180);

        var opened = h.Opened.Select(f => f.Id).Distinct().ToList();
        Assert.Equal([Id], opened);
        var at = h.FirstOpenedAt(Id) - Onset;
        output.WriteLine($"node-3 collapse found {at:F1} s of event time after the onset");
        Assert.InRange(at, 0, 60);
        var f = h.Findings.Last(x => x.Id == Id);
        Assert.Equal(FindingKind.NodeConnectivity, f.Kind);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Equal("node-3", f.Subject.Node);
        Assert.Equal(NodeTraffic.AgentPod, f.Subject.Pod);
        Assert.Contains("kube-system/" + NodeTraffic.AgentPod, f.Summary);
        Assert.Contains("iptables -t nat -S | head", f.Summary);
        Assert.Contains("iptables -S | head", f.Summary);
        Assert.Contains("kube-proxy replacement", f.Summary);
        Assert.Contains("ready since", f.Summary);
        Assert.True(f.Evidence["in_failed_pct"] >= 50 && f.Evidence["out_failed_pct"] >= 50, string.Join(", ", f.Evidence));
        Assert.True(f.Evidence["failing_workloads"] >= 2);
        Assert.Contains(f.Details, d => d.StartsWith("sample peers of failed handshakes: shop/", StringComparison.Ordinal));
        Assert.Equal(0, h.Gauge("node-3"));
        Assert.All(new[] { "node-1", "node-2", "node-4" }, n => Assert.Equal(1, h.Gauge(n)));
    }

    [Fact]
    public void WithoutClusterState_PodPlacementsAreLearnedFromTheFlows_AndTheCollapseIsStillFound()
    {
        using var h = new NodeTraffic(clusterState: false);
        h.Connections(0, 150, Collapse("node-3", Onset));
        h.Run(150);
        Assert.Equal([Id], h.Opened.Select(f => f.Id).Distinct().ToList());
        Assert.InRange(h.FirstOpenedAt(Id) - Onset, 0, 60);
        Assert.Contains("does not say which Cilium agent", h.Findings.Last(f => f.Id == Id).Summary);
    }

    [Fact]
    public void AfterTheAgentRestart_HandshakesCompleteAgain_AndTheFindingResolves()
    {
        const double restart = 150;
        using var h = new NodeTraffic();
        h.Connections(0, 300, Collapse("node-3", Onset, restart));
        h.Run(300);
        var resolved = h.Findings.Where(f => f.Id == Id && f.State == FindingState.Resolved).ToList();
        Assert.Single(resolved);
        var open = h.Findings.First(f => f.Id == Id && f.State == FindingState.Open);
        Assert.Empty(h.Pipeline.Book.OpenFindings);
        Assert.Equal(1, h.Gauge("node-3"));
        output.WriteLine($"opened at {(open.FirstSeen - NodeTraffic.T0).TotalSeconds:F0} s, restart at {restart} s, resolved by {(h.Findings.IndexOf(resolved[0]) >= 0 ? "the detector" : "?")}");
    }

    [Fact]
    public void OneBrokenPod_RaisesNothing()
    {
        using var h = new NodeTraffic();
        h.Connections(0, 180, (c, s, t) => s.Name == "api-3" && t >= Onset ? Shape.Timeout : Shape.Completed);
        h.Run(180);
        Assert.Empty(h.Opened);
    }

    [Fact]
    public void OneBrokenService_OnEveryNode_RaisesNothing()
    {
        using var h = new NodeTraffic();
        h.Connections(0, 180, (c, s, t) => s.Workload == "api" && t >= Onset ? Shape.Timeout : Shape.Completed);
        h.Run(180);
        Assert.Empty(h.Opened);
    }

    [Fact]
    public void APolicyThatDropsOneWorkloadsTraffic_RaisesNothing()
    {
        using var h = new NodeTraffic();
        h.Connections(0, 180, (c, s, t) => (s.Workload == "cache" || c.Workload == "cache") && t >= Onset ? Shape.PolicyDropped : Shape.Completed);
        h.Run(180);
        Assert.Empty(h.Opened);
    }

    [Fact]
    public void PodsOfOneNodeCallingAnUnreachableInternetHost_RaiseNothing()
    {
        using var h = new NodeTraffic();
        h.Connections(0, 180, Healthy);
        var world = new FlowEndpoint(2, "", "", "", "");
        var host = IpAddr.FromV4(203, 0, 113, 9);
        ushort port = 40000;
        foreach (var pod in h.On("node-3"))
            for (var t = Onset; t < 180; t += 0.1)
                foreach (var retry in new[] { 0.0, 1.0, 3.0 })
                    h.Add(t + retry, "node-3", pod.Endpoint, pod.Ip, world, host, port++, 443, TcpFlags.Syn, ObservationPoint.ToStack);
        h.Run(185);
        Assert.Empty(h.Opened);
    }

    [Fact]
    public void ANodeWithNoTraffic_RaisesNothing_AndIsNotJudged()
    {
        using var h = new NodeTraffic();
        h.Connections(0, 180, Healthy);
        h.Run(180);
        // node-4's pods talk; a fifth node that the cluster has but no flow touches stays unjudged.
        Assert.Empty(h.Opened);
        Assert.Equal(NodeVerdict.NoTraffic, h.Detector.VerdictOf("node-9"));
        Assert.Equal(NodeVerdict.Connected, h.Detector.VerdictOf("node-4"));
    }

    [Fact]
    public void WhenEveryNodeFails_NoOneNodeIsBlamed()
    {
        using var h = new NodeTraffic();
        h.Connections(0, 180, (c, s, t) => t >= Onset ? Shape.Timeout : Shape.Completed);
        h.Run(180);
        Assert.Empty(h.Opened);
    }

    [Fact]
    public void ANodeHostingEveryServer_IsJudgedAgainstItsOwnPast_WhenNoOtherTrafficExists()
    {
        // Every handshake touches node-3 (it hosts every server), so there is no "rest of the cluster" to compare with.
        using var h = new NodeTraffic();
        var rng = new Random(7);
        var clients = h.Pods.Where(p => p.Node != "node-3").ToList();
        var servers = h.On("node-3").ToList();
        ushort port = 20000;
        for (var t = 0.0; t < 180; t += 0.05)
        {
            var c = clients[rng.Next(clients.Count)];
            var s = servers[rng.Next(servers.Count)];
            h.Handshake(t, c.Endpoint, c.Ip, c.Node, s, port++, t >= Onset ? Shape.Timeout : Shape.Completed);
        }
        h.Run(180);

        Assert.Equal([Id], h.Opened.Select(f => f.Id).Distinct().ToList());
        var at = h.FirstOpenedAt(Id) - Onset;
        output.WriteLine($"node-3 (every server) found {at:F1} s of event time after the onset, from its own past");
        Assert.InRange(at, 0, 60);
        // The first report: later ones (the finding stays open) carry a past that holds the collapse itself.
        var f = h.Opened.First(x => x.Id == Id);
        Assert.True(f.Evidence["past_handshakes"] >= 100 && f.Evidence["past_failed_pct"] <= 5, string.Join(", ", f.Evidence));
        Assert.True(f.Evidence["failing_peer_nodes"] >= 2);
        Assert.Contains("the node itself failed only", f.Summary);
    }

    [Fact]
    public void TwoNodesTalkingOnlyToEachOther_NeitherIsBlamed_ForItCannotBeTold()
    {
        using var h = new NodeTraffic();
        var rng = new Random(9);
        var a = h.On("node-1").ToList();
        var b = h.On("node-3").ToList();
        ushort port = 20000;
        for (var t = 0.0; t < 180; t += 0.05)
        {
            var (c, s) = rng.Next(2) == 0 ? (a[rng.Next(a.Count)], b[rng.Next(b.Count)]) : (b[rng.Next(b.Count)], a[rng.Next(a.Count)]);
            h.Handshake(t, c.Endpoint, c.Ip, c.Node, s, port++, t >= Onset ? Shape.Timeout : Shape.Completed);
        }
        h.Run(180);
        Assert.Empty(h.Opened);
    }

    [Fact]
    public void RefusedHandshakes_AreTheApplicationsAnswer_NotALostNode()
    {
        using var h = new NodeTraffic();
        h.Connections(0, 180, (c, s, t) => (c.Node == "node-3" || s.Node == "node-3") && t >= Onset ? Shape.Refused : Shape.Completed);
        h.Run(180);
        Assert.Empty(h.Opened);
    }

    [Fact]
    public void NodeBound_EvictsTheQuietestNode_AndCountsIt()
    {
        using var h = new NodeTraffic(new NodeConnectivityOptions { MaxNodes = 2 });
        h.Connections(0, 30, Healthy);
        h.Run(35);
        Assert.Equal(2, h.Detector.NodeCount);
        Assert.True(Dns.MetricText.Value(h.Registry, "flowwatch_node_connectivity_evictions_total", ("reason", "node")) > 0);
    }
}
