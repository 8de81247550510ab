using FlowWatch.Detectors.DuplicateIp;
using FlowWatch.Findings;
using FlowWatch.Kubernetes;
using FlowWatch.Pipeline;
using FlowWatch.Remediation;
using FlowWatch.Tests.Detectors.Dns;
using static FlowWatch.Tests.Kube.KubeObjects;

namespace FlowWatch.Tests.Kube;

/// <summary>
/// The GKE incident end to end over the fake API server: a pod created on a node before that node's Cilium agent
/// was ready got an IP from the old CNI, which Cilium later gave to another pod. The watcher's events go through a
/// <see cref="FlowPipeline"/> into the duplicate-IP detector; the remediator acts on what it names.
/// </summary>
public sealed class GkeScenarioTests
{
    private static readonly DateTimeOffset Now = new(T0);

    private static void Seed(FakeApiServer api)
    {
        api.Nodes.Put(Node("n1", "192.168.0.11"));
        api.Pods.Put(Agent("n1", "192.168.0.11", T0.AddMinutes(-10)));
        // Started five minutes before the agent was ready: an IP from the provider CNI, no CiliumEndpoint.
        api.Pods.Put(Pod("shop", "legacy-7f9c8d6b5-aaaaa", "n1", "10.4.0.9", T0.AddMinutes(-15), owner: "legacy-7f9c8d6b5"));
        // Started after: Cilium handed it the same IP.
        api.Pods.Put(Pod("shop", "api-6d5f7c8b9-bbbbb", "n1", "10.4.0.9", T0.AddMinutes(-5), owner: "api-6d5f7c8b9"));
        api.CiliumEndpoints.Put(Endpoint("shop", "api-6d5f7c8b9-bbbbb", "10.4.0.9", "192.168.0.11"));
        // The same story in kube-system, which remediation must never touch.
        api.Pods.Put(Pod("kube-system", "dns-old-abcde", "n1", "10.4.0.20", T0.AddMinutes(-15)));
        api.Pods.Put(Pod("kube-system", "dns-new-fghij", "n1", "10.4.0.20", T0.AddMinutes(-4)));
        api.CiliumEndpoints.Put(Endpoint("kube-system", "dns-new-fghij", "10.4.0.20", "192.168.0.11"));
        // A healthy managed pod.
        api.Pods.Put(Pod("shop", "web-5c6d7e8f9-ccccc", "n1", "10.4.0.30", T0.AddMinutes(-3)));
        api.CiliumEndpoints.Put(Endpoint("shop", "web-5c6d7e8f9-ccccc", "10.4.0.30", "192.168.0.11"));
    }

    /// <summary>Watcher events through a pipeline into the detector, in event time from T0 to T0+90s.</summary>
    private static (FlowPipeline Pipeline, DuplicateIpDetector Detector, List<Finding> Findings) Detect(KubeHarness h)
    {
        var detector = new DuplicateIpDetector();
        var pipeline = new FlowPipeline([detector], Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var findings = new List<Finding>();
        pipeline.Findings.Subscribe(findings.Add);
        pipeline.Start(Now);
        while (h.Events.TryDequeue(out var e)) pipeline.Apply(e);
        pipeline.AdvanceTo(Now.AddSeconds(90));
        return (pipeline, detector, findings);
    }

    private static UnmanagedPodRemediator Remediator(KubeHarness h, DuplicateIpDetector detector, RemediationMode mode, Func<string?>? stale = null, int max = 5) =>
        new(new RemediationOptions { Mode = mode, MaxPerInterval = max }, detector, h.View, stale ?? h.Watcher.StaleReason,
            () => h.Watcher.CiliumEndpointsWatched, h.Api.Client(), new RemediationMetrics(h.MetricFactory), h.Log);

    [Fact]
    public async Task DuplicateIp_NamesTheUnmanagedPod_FromWatchedState()
    {
        await using var h = await KubeHarness.StartAsync(Seed);
        h.Run();
        await h.SyncedAsync();
        var (pipeline, detector, findings) = Detect(h);
        using var p = pipeline;

        var conflict = Assert.Single(detector.Conflicts, c => c.Ip == "10.4.0.9");
        Assert.Equal("shop/legacy-7f9c8d6b5-aaaaa", conflict.DeleteCandidate?.Display);
        Assert.True(conflict.DeleteCandidate!.StartedBeforeAgent);
        Assert.Equal(false, conflict.DeleteCandidate.Managed);
        var finding = findings.Last(f => f.Kind == FindingKind.DuplicateIp && f.Subject.Ip == "10.4.0.9");
        Assert.Equal("legacy-7f9c8d6b5-aaaaa", finding.Subject.Pod);
        Assert.DoesNotContain(detector.Conflicts, c => c.Ip == "10.4.0.30");
        // Flow enrichment never names a pod for a shared IP.
        Assert.False(h.View.TryGetPodByIp(FlowWatch.Flows.IpAddr.Parse("10.4.0.9"), out _));
        Assert.True(h.View.TryGetPodByIp(FlowWatch.Flows.IpAddr.Parse("10.4.0.30"), out var web));
        Assert.Equal("web", web.Workload);
    }

    [Fact]
    public async Task DryRun_CountsTheUnmanagedPod_Once_AndEvictsNothing()
    {
        await using var h = await KubeHarness.StartAsync(Seed);
        h.Run();
        await h.SyncedAsync();
        var (pipeline, detector, _) = Detect(h);
        using var p = pipeline;
        var remediator = Remediator(h, detector, RemediationMode.DryRun);

        var first = await remediator.EvaluateAsync(h.Token);
        var again = await remediator.EvaluateAsync(h.Token);

        var act = Assert.Single(first, d => d.Action == "dry_run");
        Assert.Equal(("shop", "legacy-7f9c8d6b5-aaaaa", "duplicate_ip"), (act.Namespace, act.Pod, act.Reason));
        Assert.Contains(first, d => d is { Namespace: "kube-system", Pod: "dns-old-abcde", Action: "refuse", Reason: "excluded_namespace" });
        Assert.DoesNotContain(first, d => d.Pod.StartsWith("api-", StringComparison.Ordinal) || d.Pod.StartsWith("web-", StringComparison.Ordinal));
        Assert.Empty(again);
        Assert.Equal(1, MetricText.Value(h.Registry, "flowwatch_remediation_total", ("action", "dry_run"), ("reason", "duplicate_ip")));
        Assert.Equal(1, MetricText.Value(h.Registry, "flowwatch_remediation_total", ("action", "refuse"), ("reason", "excluded_namespace")));
        Assert.Empty(h.Api.Evictions);
    }

    [Fact]
    public async Task Evict_PostsExactlyOneEviction_ForTheUnmanagedPod()
    {
        await using var h = await KubeHarness.StartAsync(Seed);
        h.Run();
        await h.SyncedAsync();
        var (pipeline, detector, _) = Detect(h);
        using var p = pipeline;
        var remediator = Remediator(h, detector, RemediationMode.Evict);

        await remediator.EvaluateAsync(h.Token);
        await remediator.EvaluateAsync(h.Token);

        var (path, body) = Assert.Single(h.Api.Evictions);
        Assert.Equal("/api/v1/namespaces/shop/pods/legacy-7f9c8d6b5-aaaaa/eviction", path);
        Assert.Equal("Eviction", (string?)body["kind"]);
        Assert.Equal("policy/v1", (string?)body["apiVersion"]);
        Assert.Equal("uid-shop-legacy-7f9c8d6b5-aaaaa", (string?)body["deleteOptions"]?["preconditions"]?["uid"]);
        Assert.Equal(1, MetricText.Value(h.Registry, "flowwatch_remediation_total", ("action", "evict"), ("reason", "duplicate_ip")));
        Assert.Contains(h.Log.Lines, l => l.Contains("evicted shop/legacy-7f9c8d6b5-aaaaa", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Evict_AtMostNPerInterval_TheRestRefusedAsRateLimited()
    {
        await using var h = await KubeHarness.StartAsync(api =>
        {
            Seed(api);
            api.Pods.Put(Pod("shop", "legacy2-7f9c8d6b5-ddddd", "n1", "10.4.0.50", T0.AddMinutes(-15)));
            api.Pods.Put(Pod("shop", "api2-6d5f7c8b9-eeeee", "n1", "10.4.0.50", T0.AddMinutes(-5)));
            api.CiliumEndpoints.Put(Endpoint("shop", "api2-6d5f7c8b9-eeeee", "10.4.0.50", "192.168.0.11"));
        });
        h.Run();
        await h.SyncedAsync();
        var (pipeline, detector, _) = Detect(h);
        using var p = pipeline;
        Assert.Equal(2, detector.Conflicts.Count(c => c.DeleteCandidate?.Namespace == "shop"));

        var decisions = await Remediator(h, detector, RemediationMode.Evict, max: 1).EvaluateAsync(h.Token);

        Assert.Single(h.Api.Evictions);
        Assert.Single(decisions, d => d.Action == "evict");
        Assert.Single(decisions, d => d is { Namespace: "shop", Action: "refuse", Reason: "rate_limited" });
        Assert.Equal(1, MetricText.Value(h.Registry, "flowwatch_remediation_total", ("action", "refuse"), ("reason", "rate_limited")));
    }

    [Fact]
    public async Task Evict_Refuses_WhenTheViewIsStale_OrCiliumEndpointsAreNotWatched()
    {
        await using var h = await KubeHarness.StartAsync(Seed);
        h.Run();
        await h.SyncedAsync();
        var (pipeline, detector, _) = Detect(h);
        using var p = pipeline;

        var stale = await Remediator(h, detector, RemediationMode.Evict, () => "kubernetes pods disconnected for 90s").EvaluateAsync(h.Token);
        Assert.Contains(stale, d => d is { Pod: "legacy-7f9c8d6b5-aaaaa", Action: "refuse", Reason: "view_stale" });

        var noCeps = new UnmanagedPodRemediator(new RemediationOptions { Mode = RemediationMode.Evict }, detector, h.View,
            () => null, () => false, h.Api.Client(), new RemediationMetrics(h.MetricFactory), h.Log);
        var unknown = await noCeps.EvaluateAsync(h.Token);
        Assert.Contains(unknown, d => d is { Pod: "legacy-7f9c8d6b5-aaaaa", Action: "refuse", Reason: "ciliumendpoints_unknown" });

        // Once the pod gets a CiliumEndpoint (Cilium adopted it), it is never evicted.
        h.Api.CiliumEndpoints.Put(Endpoint("shop", "legacy-7f9c8d6b5-aaaaa", "10.4.0.9", "192.168.0.11"));
        await Eventually.True(() => h.View.HasCiliumEndpoint("shop", "legacy-7f9c8d6b5-aaaaa"), "CiliumEndpoint seen");
        var managed = await Remediator(h, detector, RemediationMode.Evict).EvaluateAsync(h.Token);
        Assert.Contains(managed, d => d is { Pod: "legacy-7f9c8d6b5-aaaaa", Action: "refuse", Reason: "managed_by_cilium" });
        Assert.Empty(h.Api.Evictions);
    }

    /// <summary>The detector judged an older view; the remediator re-checks its own, live one before it acts.</summary>
    [Theory]
    [InlineData(RemediationMode.DryRun, "deleted")]
    [InlineData(RemediationMode.Evict, "deleted")]
    [InlineData(RemediationMode.DryRun, "adopted")]
    [InlineData(RemediationMode.Evict, "adopted")]
    [InlineData(RemediationMode.Evict, "stopped")]
    public async Task ViewChangingUnderIt_NeverActsOnWhatIsNoLongerTrue(RemediationMode mode, string change)
    {
        await using var h = await KubeHarness.StartAsync(Seed);
        h.Run();
        await h.SyncedAsync();
        var (pipeline, detector, _) = Detect(h);
        using var p = pipeline;
        Assert.Contains(detector.Conflicts, c => c.DeleteCandidate?.Name == "legacy-7f9c8d6b5-aaaaa");

        const string legacy = "legacy-7f9c8d6b5-aaaaa";
        string expected;
        switch (change)
        {
            case "deleted":
                h.Api.Pods.Delete("shop", legacy);
                await Eventually.True(() => h.View.Pod("shop", legacy) is null, "pod deletion seen");
                expected = "pod_not_running";
                break;
            case "adopted":
                h.Api.CiliumEndpoints.Put(Endpoint("shop", legacy, "10.4.0.9", "192.168.0.11"));
                await Eventually.True(() => h.View.HasCiliumEndpoint("shop", legacy), "CiliumEndpoint seen");
                expected = "managed_by_cilium";
                break;
            default:
                h.Api.Pods.Put(Pod("shop", legacy, "n1", "10.4.0.9", T0.AddMinutes(-15), phase: "Succeeded", owner: "legacy-7f9c8d6b5"));
                await Eventually.True(() => h.View.Pod("shop", legacy) is { Running: false }, "pod phase change seen");
                expected = "pod_not_running";
                break;
        }

        var decisions = await Remediator(h, detector, mode).EvaluateAsync(h.Token);

        Assert.Contains(decisions, d => d is { Pod: legacy, Action: "refuse" } && d.Reason == expected);
        Assert.DoesNotContain(decisions, d => d.Action is "evict" or "dry_run");
        Assert.Empty(h.Api.Evictions);
    }
}
