using System.Diagnostics;
using FlowWatch.Detectors.DuplicateIp;
using FlowWatch.Pipeline;
using FlowWatch.Remediation;
using FlowWatch.Tests.Detectors.Dns;
using static FlowWatch.Tests.Kube.KubeObjects;

namespace FlowWatch.Tests.Kube;

/// <summary>Two remediating replicas against one API server: only the holder of the Lease evicts; when it stops, the other takes over.</summary>
public sealed class RemediationLeadershipTests
{
    private static readonly DateTimeOffset Now = new(T0.AddMinutes(1), TimeSpan.Zero);

    private static readonly LeadershipOptions Lease = new()
    {
        Namespace = "kube-system", LeaseDuration = TimeSpan.FromSeconds(3), RenewDeadline = TimeSpan.FromSeconds(2), RetryPeriod = TimeSpan.FromMilliseconds(200),
    };

    [Fact]
    public async Task OnlyTheLeaseHolderEvicts_TheOtherTakesOverWhenItStops_NothingEvictedTwice()
    {
        await using var h = await KubeHarness.StartAsync(api =>
        {
            api.EvictionsDeletePods = true;
            api.Nodes.Put(Node("n1", "192.168.0.11"));
            api.Pods.Put(Agent("n1", "192.168.0.11", T0.AddMinutes(-10)));
            // Started before the agent, no CiliumEndpoint: the pod to evict; the newer one holding the same IP is managed.
            api.Pods.Put(Pod("shop", "legacy-7f9c8d6b5-aaaaa", "n1", "10.4.0.9", T0.AddMinutes(-15), owner: "legacy-7f9c8d6b5"));
            api.Pods.Put(Pod("shop", "api-6d5f7c8b9-bbbbb", "n1", "10.4.0.9", T0.AddMinutes(-5), owner: "api-6d5f7c8b9"));
            api.CiliumEndpoints.Put(Endpoint("shop", "api-6d5f7c8b9-bbbbb", "10.4.0.9", "192.168.0.11"));
        });
        h.Run();
        await h.SyncedAsync();
        var detector = new DuplicateIpDetector();
        using var pipeline = new FlowPipeline([detector], Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        pipeline.Start(Now);
        while (h.Events.TryDequeue(out var e)) pipeline.Apply(e);
        pipeline.AdvanceTo(Now.AddSeconds(90));
        Assert.Contains(detector.Conflicts, c => c.DeleteCandidate?.Name == "legacy-7f9c8d6b5-aaaaa");

        var a = Replica(h, detector, "replica-a");
        using var stopA = CancellationTokenSource.CreateLinkedTokenSource(h.Token);
        var runA = a.Leadership.RunAsync(stopA.Token);
        await Eventually.True(() => a.Leadership.IsLeader, "replica a holds the Lease");
        var b = Replica(h, detector, "replica-b");
        using var stopB = CancellationTokenSource.CreateLinkedTokenSource(h.Token);
        var runB = b.Leadership.RunAsync(stopB.Token);
        await Eventually.True(() => b.Leadership.PausedReason() is { } r && r.Contains("replica-a"), () => "b sees a as holder: " + b.Leadership.PausedReason());

        // Both evaluate the same candidate; only a acts.
        Assert.Empty(await b.Remediator.EvaluateAsync(h.Token));
        var acted = await a.Remediator.EvaluateAsync(h.Token);
        Assert.Contains(acted, d => d is { Action: "evict", Pod: "legacy-7f9c8d6b5-aaaaa" });
        Assert.Empty(await b.Remediator.EvaluateAsync(h.Token));
        Assert.Single(h.Api.Evictions);
        Assert.Equal(1, MetricText.Value(a.Registry, "flowwatch_remediation_leader"));
        Assert.Equal(0, MetricText.Value(b.Registry, "flowwatch_remediation_leader"));
        Assert.Empty(b.Remediator.Decisions);
        Assert.StartsWith("leadership: leader, holding Lease kube-system/flowwatch-remediation", a.Leadership.Describe());
        Assert.StartsWith("leadership: follower, replica replica-a", b.Leadership.Describe());

        // a stops without releasing the Lease (a killed process): b takes over once the Lease runs out.
        var stopped = Stopwatch.StartNew();
        stopA.Cancel();
        await runA;
        await Eventually.True(() => b.Leadership.IsLeader, "replica b takes over", 30);
        var takeover = stopped.Elapsed;
        Assert.True(takeover < Lease.LeaseDuration + TimeSpan.FromSeconds(3), $"takeover after {takeover.TotalSeconds:F1}s, lease {Lease.LeaseDuration.TotalSeconds}s");
        Assert.Equal("replica-b", h.Api.Leases.Holder("kube-system", "flowwatch-remediation")?[..9]);
        Assert.Equal(1, MetricText.Value(b.Registry, "flowwatch_remediation_leader"));
        Assert.StartsWith("leadership: leader", b.Leadership.Describe());

        // b now remediates, and the pod a already evicted is not evicted again.
        await Eventually.True(() => h.View.Pod("shop", "legacy-7f9c8d6b5-aaaaa") is null, "evicted pod gone from the view");
        var afterTakeover = await b.Remediator.EvaluateAsync(h.Token);
        Assert.NotEmpty(afterTakeover);
        Assert.DoesNotContain(afterTakeover, d => d.Action == "evict");
        Assert.Single(h.Api.Evictions);
        stopB.Cancel();
        await runB;
    }

    private sealed record ReplicaParts(RemediationLeadership Leadership, UnmanagedPodRemediator Remediator, Prometheus.CollectorRegistry Registry);

    private static ReplicaParts Replica(KubeHarness h, DuplicateIpDetector detector, string name)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        var leadership = new RemediationLeadership(h.Api.Client(), Lease with { Identity = $"{name}-{Guid.NewGuid():N}"[..^24] }, factory, h.Log);
        var remediator = new UnmanagedPodRemediator(new RemediationOptions { Mode = RemediationMode.Evict, MaxPerInterval = 5 }, detector, h.View,
            h.Watcher.StaleReason, () => h.Watcher.CiliumEndpointsWatched, h.Api.Client(), new RemediationMetrics(factory), h.Log, paused: leadership.PausedReason);
        return new ReplicaParts(leadership, remediator, registry);
    }
}
