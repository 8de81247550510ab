using System.Text.RegularExpressions;
using FlowWatch.Detectors.DuplicateIp;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Tests.Detectors.Dns;
using static FlowWatch.Tests.Detectors.DuplicateIp.DupFlows;

namespace FlowWatch.Tests.Detectors.DuplicateIp;

public class DuplicateIpDetectorTests
{
    private const string Ip = "10.1.3.77";

    [Fact]
    public void TwoPodNamesForOneIp_InFlows_RaiseDuplicateIp_ThatResolvesWhenTheyStop()
    {
        using var h = new DupHarness();
        for (var t = 0; t < 60; t++)
        {
            h.Push(To(h.At(t), Inventory, SharedIp));
            if (t % 10 == 5) h.Push(To(h.At(t + 0.5), Legacy, SharedIp, node: "sim-node-2"));
        }
        h.AdvanceTo(61);

        var f = h.Latest(FindingKind.DuplicateIp, Ip);
        Assert.NotNull(f);
        Assert.Equal(FindingState.Open, f.State);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Contains(Inventory.Pod, f.Summary + f.Subject.Pod + f.Subject.OtherPod);
        Assert.Contains(Legacy.Pod, f.Summary + f.Subject.Pod + f.Subject.OtherPod);
        Assert.Contains("kubectl get ciliumendpoints", f.Summary);
        Assert.Equal(1, h.DuplicateIpsGauge);
        var c = Assert.Single(h.Detector.Conflicts);
        Assert.Equal("flows", c.Sources);
        Assert.Null(c.DeleteCandidate);

        // The legacy pod stops being named; inventory goes on.
        for (var t = 61; t < 400; t++) h.Push(To(h.At(t), Inventory, SharedIp));
        h.AdvanceTo(400);
        Assert.Equal(FindingState.Resolved, h.Latest(FindingKind.DuplicateIp, Ip)!.State);
        Assert.Equal(0, h.DuplicateIpsGauge);
        Assert.Empty(h.Detector.Conflicts);
    }

    [Fact]
    public void IpReusedAfterTheFirstPodLeftTheWindow_IsNotADuplicate()
    {
        using var h = new DupHarness(new DuplicateIpOptions { Window = TimeSpan.FromMinutes(10) });
        for (var t = 0; t < 30; t++) h.Push(To(h.At(t), Legacy, SharedIp));
        for (var t = 700; t < 800; t++)
        {
            h.Push(To(h.At(t), Inventory, SharedIp));
            // Even a stray flow naming the old pod much later only starts a new pair: one switch back is not enough.
        }
        h.AdvanceTo(900);
        Assert.DoesNotContain(h.Findings, f => f.Kind == FindingKind.DuplicateIp);
        Assert.Equal(0, h.DuplicateIpsGauge);
    }

    [Fact]
    public void IpReusedWithinTheWindow_WithoutAlternation_IsNotADuplicate()
    {
        using var h = new DupHarness();
        for (var t = 0; t < 30; t++) h.Push(To(h.At(t), Legacy, SharedIp));
        for (var t = 40; t < 200; t++) h.Push(To(h.At(t), Inventory, SharedIp));
        h.AdvanceTo(300);
        Assert.DoesNotContain(h.Findings, f => f.Kind == FindingKind.DuplicateIp);
    }

    [Fact]
    public void IpReusedAfterThePodWasDeletedInClusterState_IsNotADuplicate_EvenWithStaleFlows()
    {
        using var h = new DupHarness();
        h.Apply(Pod(Legacy, SharedIp, Node3, h.At(-600)));
        for (var t = 0; t < 30; t++) h.Push(To(h.At(t), Legacy, SharedIp));
        h.AdvanceTo(31);
        h.Apply(Pod(Legacy, SharedIp, Node3, h.At(-600), deleted: true));
        h.Apply(Pod(Inventory, SharedIp, Node3, h.At(35)));
        for (var t = 40; t < 200; t++)
        {
            h.Push(To(h.At(t), Inventory, SharedIp));
            // A stale ipcache elsewhere still names the deleted pod now and then.
            if (t % 20 == 0) h.Push(To(h.At(t + 0.5), Legacy, SharedIp, node: "sim-node-2"));
        }
        h.AdvanceTo(300);
        Assert.DoesNotContain(h.Findings, f => f.Kind == FindingKind.DuplicateIp);
        Assert.Equal(0, h.DuplicateIpsGauge);
    }

    [Fact]
    public void UnmanagedIdentity_RaisesUnmanagedPod_WithIpAndNode_AndTheGaugeFollows()
    {
        using var h = new DupHarness();
        for (var t = 0; t < 60; t++)
        {
            h.Push(To(h.At(t), Inventory, SharedIp));
            if (t % 5 == 0) h.Push(From(h.At(t + 0.2), Unmanaged, SharedIp, node: Node3));
        }
        h.AdvanceTo(61);

        var f = h.Latest(FindingKind.UnmanagedPod, Ip);
        Assert.NotNull(f);
        Assert.Equal(FindingState.Open, f.State);
        Assert.Equal(Node3, f.Subject.Node);
        Assert.Equal(Inventory.Display, f.Subject.OtherPod);
        Assert.Equal(12, f.Evidence["unmanaged_flows"]);
        Assert.Contains("reserved:unmanaged", f.Summary);
        Assert.Equal(1, h.UnmanagedGauge(Node3));
        // Identity 3 is not a second pod name: no duplicate from this alone.
        Assert.DoesNotContain(h.Findings, x => x.Kind == FindingKind.DuplicateIp);

        for (var t = 61; t < 400; t++) h.Push(To(h.At(t), Inventory, SharedIp));
        h.AdvanceTo(400);
        Assert.Equal(FindingState.Resolved, h.Latest(FindingKind.UnmanagedPod, Ip)!.State);
        Assert.Equal(0, h.UnmanagedGauge(Node3));
    }

    [Fact]
    public void FewUnmanagedFlows_BelowTheMinimum_RaiseNothing()
    {
        using var h = new DupHarness(new DuplicateIpOptions { MinUnmanagedFlows = 3 });
        h.Push(From(h.At(1), Unmanaged, SharedIp));
        h.Push(From(h.At(2), Unmanaged, SharedIp));
        h.AdvanceTo(60);
        Assert.Empty(h.Findings);
    }

    [Fact]
    public void ClusterStateDuplicate_NamesThePodThatStartedBeforeTheAgent_AsTheOneToDelete()
    {
        using var h = new DupHarness();
        h.Apply(new FlowWatch.Kubernetes.CiliumAgentState(Node3, h.At(-600)));
        h.Apply(Pod(Legacy, SharedIp, Node3, h.At(-1200)));
        h.Apply(Pod(Inventory, SharedIp, Node3, h.At(-300)));
        h.Apply(Cep(Inventory, SharedIp, Node3));
        h.AdvanceTo(10);
        Assert.Empty(h.Findings); // within the grace period

        h.AdvanceTo(40);
        var f = h.Latest(FindingKind.DuplicateIp, Ip);
        Assert.NotNull(f);
        Assert.Equal(FindingState.Open, f.State);
        Assert.Equal("shop", f.Subject.Namespace);
        Assert.Equal(Legacy.Pod, f.Subject.Pod);
        Assert.Equal(Inventory.Display, f.Subject.OtherPod);
        Assert.Equal(Node3, f.Subject.Node);
        Assert.Contains($"kubectl delete pod -n shop {Legacy.Pod}", f.Summary);
        Assert.Contains($"{Legacy.Display} is the pod Cilium does not manage", f.Summary);
        Assert.Contains(f.Details, d => d.StartsWith(Legacy.Display) && d.Contains("before the Cilium agent was ready") && d.Contains("not managed"));
        Assert.Contains(f.Details, d => d.StartsWith(Inventory.Display) && d.Contains("has a CiliumEndpoint"));

        var c = Assert.Single(h.Detector.Conflicts);
        Assert.Equal(Legacy.Pod, c.DeleteCandidate!.Name);
        Assert.True(c.DeleteCandidate.StartedBeforeAgent);
        Assert.False(c.DeleteCandidate.Managed);

        var unmanaged = h.Latest(FindingKind.UnmanagedPod, Ip);
        Assert.NotNull(unmanaged);
        Assert.Equal(Legacy.Pod, unmanaged.Subject.Pod);
        Assert.Contains("started before the node's Cilium agent became ready", unmanaged.Summary);
        Assert.Equal(1, h.DuplicateIpsGauge);
        Assert.Equal(1, h.UnmanagedGauge(Node3));

        var report = Assert.IsType<DuplicateIpPodReport>(h.Detector.DescribePod("shop", Legacy.Pod));
        Assert.True(report.DeleteRecommended);
        Assert.Equal($"kubectl delete pod -n shop {Legacy.Pod}", report.Action);
        var ok = Assert.IsType<DuplicateIpPodReport>(h.Detector.DescribePod("shop", Inventory.Pod));
        Assert.False(ok.DeleteRecommended);
        Assert.True(h.Detector.KnowsPod("shop", Inventory.Pod));
        Assert.False(h.Detector.KnowsPod("shop", "nobody"));

        // Someone deletes the unmanaged pod: both findings resolve and the gauges go back to zero.
        h.Apply(Pod(Legacy, SharedIp, Node3, h.At(-1200), deleted: true));
        h.AdvanceTo(40 + 200);
        Assert.Equal(FindingState.Resolved, h.Latest(FindingKind.DuplicateIp, Ip)!.State);
        Assert.Equal(FindingState.Resolved, h.Latest(FindingKind.UnmanagedPod, Ip)!.State);
        Assert.Equal(0, h.DuplicateIpsGauge);
        Assert.Equal(0, h.UnmanagedGauge(Node3));
        Assert.Empty(h.Detector.Conflicts);
        Assert.Empty(h.Pipeline.Book.OpenFindings);
    }

    [Fact]
    public void ClusterStateAndFlows_MergeIntoOneFindingPerIp()
    {
        using var h = new DupHarness();
        h.Apply(new FlowWatch.Kubernetes.CiliumAgentState(Node3, h.At(-600)));
        h.Apply(Pod(Legacy, SharedIp, Node3, h.At(-1200)));
        h.Apply(Pod(Inventory, SharedIp, Node3, h.At(-300)));
        h.Apply(Cep(Inventory, SharedIp, Node3));
        for (var t = 0; t < 60; t++)
        {
            h.Push(To(h.At(t), Inventory, SharedIp));
            if (t % 10 == 5) h.Push(To(h.At(t + 0.5), Legacy, SharedIp, node: "sim-node-2"));
        }
        h.AdvanceTo(61);
        var c = Assert.Single(h.Detector.Conflicts);
        Assert.Equal("cluster+flows", c.Sources);
        Assert.Equal(Legacy.Pod, c.DeleteCandidate!.Name);
        Assert.True(c.Pods.Single(p => p.Name == Inventory.Pod).Flows > 50);
        Assert.Single(h.Pipeline.Book.OpenFindings, f => f.Kind == FindingKind.DuplicateIp);
    }

    [Fact]
    public void ClusterState_IpReusedAfterThePodWasDeleted_IsNotADuplicate()
    {
        using var h = new DupHarness();
        h.Apply(new FlowWatch.Kubernetes.CiliumAgentState(Node3, h.At(-600)));
        h.Apply(Pod(Legacy, SharedIp, Node3, h.At(-300)));
        h.Apply(Cep(Legacy, SharedIp, Node3));
        h.AdvanceTo(20);
        h.Apply(Pod(Legacy, SharedIp, Node3, h.At(-300), deleted: true));
        h.Apply(Cep(Legacy, SharedIp, Node3, deleted: true));
        h.Apply(Pod(Inventory, SharedIp, Node3, h.At(21)));
        h.Apply(Cep(Inventory, SharedIp, Node3));
        // A pod that finished (Succeeded) keeps its record but frees its IP too.
        h.Apply(Pod(Client, SharedIp, Node3, h.At(-900), phase: "Succeeded"));
        h.AdvanceTo(300);
        Assert.Empty(h.Findings);
        Assert.Equal(0, h.DuplicateIpsGauge);
    }

    [Fact]
    public void ClusterState_PodWithoutCiliumEndpoint_WaitsForTheGrace_AndNeedsAReadyAgent()
    {
        using var h = new DupHarness(new DuplicateIpOptions { StateGrace = TimeSpan.FromSeconds(30) });
        h.Apply(new FlowWatch.Kubernetes.CiliumAgentState(Node3, h.At(-600)));
        h.Apply(Pod(Inventory, IpAddr.Parse("10.1.3.10"), Node3, h.At(-300)));
        h.Apply(Cep(Inventory, IpAddr.Parse("10.1.3.10"), Node3));
        // A new pod whose endpoint is created a few seconds later is fine.
        h.Apply(Pod(Client, IpAddr.Parse("10.1.3.11"), Node3, h.At(0)));
        h.AdvanceTo(5);
        h.Apply(Cep(Client, IpAddr.Parse("10.1.3.11"), Node3));
        // A pod on a node without a known agent is not judged.
        h.Apply(Pod(Legacy, IpAddr.Parse("10.1.9.9"), "sim-node-9", h.At(-1200)));
        h.AdvanceTo(120);
        Assert.Empty(h.Findings);

        // A pod that never gets one is reported after the grace, even though it started after the agent.
        var late = new FlowEndpoint(0, "web", "frontend-5c6d7e8f9a-zz9kk", "frontend", "Deployment");
        h.Apply(Pod(late, IpAddr.Parse("10.1.3.12"), Node3, h.At(120)));
        h.AdvanceTo(140);
        Assert.Empty(h.Findings);
        h.AdvanceTo(160);
        var f = h.Latest(FindingKind.UnmanagedPod, "10.1.3.12");
        Assert.NotNull(f);
        Assert.Equal(late.Pod, f.Subject.Pod);
        Assert.Equal(Severity.Warning, f.Severity);
        Assert.DoesNotContain("started before", f.Summary);
    }

    [Fact]
    public void PodCidrs_LimitWhichAddressesAreJudged()
    {
        using var h = new DupHarness(new DuplicateIpOptions { PodCidrs = [IpPrefix.Parse("10.1.0.0/16")] });
        var outside = IpAddr.Parse("192.168.5.5");
        for (var t = 0; t < 60; t++)
        {
            h.Push(To(h.At(t), t % 2 == 0 ? Inventory : Legacy, outside));
            h.Push(From(h.At(t + 0.1), Unmanaged, outside));
        }
        h.AdvanceTo(61);
        Assert.Empty(h.Findings);
        // Only the client (10.1.1.40, inside the pod CIDR) is remembered.
        Assert.Equal(1, h.Detector.TrackedIps);
    }

    [Fact]
    public void MetricLabels_NeverCarryIpsOrPodNames()
    {
        using var h = new DupHarness();
        for (var i = 0; i < 20; i++)
        {
            var ip = IpAddr.FromV4(10, 1, 3, (byte)(100 + i));
            for (var t = 0; t < 20; t++)
            {
                h.Push(To(h.At(t), Inventory, ip));
                h.Push(From(h.At(t + 0.1), Unmanaged, ip, node: $"sim-node-{i % 3}"));
            }
        }
        h.AdvanceTo(30);
        Assert.Equal(20, h.Pipeline.Book.OpenFindings.Count(f => f.Kind == FindingKind.UnmanagedPod));

        var text = MetricText.Export(h.Registry);
        var series = text.Split('\n').Where(l => l.StartsWith("flowwatch_duplicate_ips", StringComparison.Ordinal) ||
                                                 l.StartsWith("flowwatch_unmanaged_pods", StringComparison.Ordinal) ||
                                                 l.StartsWith("flowwatch_ip_map_evicted_total", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(series);
        var ipLike = new Regex(@"\d+\.\d+\.\d+\.\d+");
        foreach (var line in series)
            foreach (var (label, value) in MetricText.Labels(line))
            {
                Assert.Contains(label, new[] { "node", "reason" });
                Assert.DoesNotMatch(ipLike, value);
                Assert.DoesNotContain(Inventory.Pod, value);
            }
        Assert.Equal(7, h.UnmanagedGauge("sim-node-0"));
    }

    [Fact]
    public void Churn_ManyThousandsOfPodsComingAndGoing_KeepsEveryMapWithinItsBounds()
    {
        var options = new DuplicateIpOptions { MaxIps = 1_000, MaxPods = 2_000, MaxRecentlyDeleted = 500 };
        using var h = new DupHarness(options);
        h.Apply(new FlowWatch.Kubernetes.CiliumAgentState(Node3, h.At(-600)));
        const int pods = 30_000;
        const int pool = 4_000;
        var live = new Queue<(FlowEndpoint Pod, IpAddr Ip, double Until)>();
        int maxIps = 0, maxPods = 0, maxDeleted = 0;
        for (var i = 0; i < pods; i++)
        {
            var t = i * 0.1;
            while (live.Count > 0 && live.Peek().Until <= t)
            {
                var (old, oldIp, _) = live.Dequeue();
                h.Apply(Pod(old, oldIp, Node3, null, deleted: true));
                h.Apply(Cep(old, oldIp, Node3, deleted: true));
            }
            var pod = new FlowEndpoint((uint)(50_000 + i % 500), "churn", $"job-{i}", $"job-{i % 50}", "Job");
            var ip = IpAddr.FromV4(10, 1, (byte)(10 + i % pool / 250), (byte)(i % pool % 250));
            h.Apply(Pod(pod, ip, Node3, h.At(t)));
            h.Apply(Cep(pod, ip, Node3));
            h.Push(To(h.At(t), pod, ip));
            h.Push(From(h.At(t + 0.01), pod, ip));
            live.Enqueue((pod, ip, t + 30));
            if (i % 1000 == 0)
            {
                maxIps = Math.Max(maxIps, h.Detector.TrackedIps);
                maxPods = Math.Max(maxPods, h.Detector.View.Pods);
                maxDeleted = Math.Max(maxDeleted, h.Detector.View.RecentlyDeletedCount);
            }
        }
        h.AdvanceTo(pods * 0.1 + 1);

        Assert.InRange(maxIps, 1, options.MaxIps);
        Assert.InRange(maxPods, 1, options.MaxPods);
        Assert.InRange(maxDeleted, 1, options.MaxRecentlyDeleted);
        Assert.True(h.Detector.TrackedIps <= options.MaxIps);
        Assert.True(h.Detector.EvictedIps > 0);
        Assert.Equal(h.Detector.EvictedIps, MetricText.Value(h.Registry, "flowwatch_ip_map_evicted_total", ("reason", "ip_map_full")));
        Assert.True(h.Detector.SuspectIps <= options.MaxIps);
        // Every IP was reused many times, always after its previous pod was deleted: never a duplicate.
        Assert.DoesNotContain(h.Findings, f => f.Kind is FindingKind.DuplicateIp or FindingKind.UnmanagedPod);

        // Everything quiet for longer than the window is forgotten.
        h.AdvanceTo(pods * 0.1 + 1200);
        Assert.Equal(0, h.Detector.TrackedIps);
        Assert.Equal(0, h.Detector.View.RecentlyDeletedCount);
    }

    [Fact]
    public void ChooseDeleteCandidate_PrefersThePodWithoutAnEndpoint_ThenTheEarlyStarter()
    {
        ConflictPod P(string name, bool? managed, bool? early) => new("shop", name, Node3, managed, early, null, 0, 0);
        Assert.Equal("b", DuplicateIpPolicy.ChooseDeleteCandidate([P("a", true, true), P("b", false, false)])!.Name);
        Assert.Equal("a", DuplicateIpPolicy.ChooseDeleteCandidate([P("a", null, true), P("b", null, false)])!.Name);
        Assert.Null(DuplicateIpPolicy.ChooseDeleteCandidate([P("a", true, false), P("b", true, false)]));
        Assert.Null(DuplicateIpPolicy.ChooseDeleteCandidate([P("a", false, true), P("b", false, true)]));
    }

    [Fact]
    public void Options_RejectSettingsThatCannotWork()
    {
        Assert.Throws<ArgumentException>(() => new DuplicateIpDetector(new DuplicateIpOptions { Window = TimeSpan.FromSeconds(1) }));
        Assert.Throws<ArgumentException>(() => new DuplicateIpDetector(new DuplicateIpOptions { MaxIps = 0 }));
        Assert.Throws<ArgumentException>(() => new DuplicateIpDetector(new DuplicateIpOptions { MinAlternations = 0 }));
    }
}
