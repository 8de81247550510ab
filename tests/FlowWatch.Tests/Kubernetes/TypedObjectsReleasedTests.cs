using System.Runtime.CompilerServices;
using FlowWatch.Kubernetes;
using FlowWatch.Kubernetes.Watching;
using k8s;
using k8s.Models;
using static FlowWatch.Tests.Kube.KubeObjects;

namespace FlowWatch.Tests.Kube;

/// <summary>The view keeps compact records, never the API's typed objects: each list page is garbage once applied.</summary>
public sealed class TypedObjectsReleasedTests
{
    [Fact]
    public async Task EveryPage_IsCollectable_WhileTheNextIsFetched_AndNoneSurvivesTheSync()
    {
        await using var api = await FakeApiServer.StartAsync();
        for (var i = 0; i < 2_000; i++) api.Pods.Put(Pod("shop", $"p-{i:D4}", "n1", $"10.1.{i / 256}.{i % 256}", T0));
        var client = api.Client();
        var probes = new List<WeakReference>();
        var aliveWhenAsked = new List<int>();
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new KubeWatchMetrics(Prometheus.Metrics.WithCustomRegistry(registry));
        var view = new ClusterView(_ => { }, KubeHarness.Fast, metrics);
        var watcher = new ResourceWatcher<V1Pod, V1PodList>("pods",
            async (next, limit, ct) =>
            {
                var page = await client.CoreV1.ListPodForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: ct);
                // Counted here, with the watcher suspended on this request (its stack frames gone), so only what it keeps counts.
                aliveWhenAsked.Add(await AliveAfterSettling(probes));
                Probe(probes, page);
                return page;
            },
            (rv, timeout, initial, ct) => client.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(watch: true, resourceVersion: rv,
                allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct),
            view.Pods, KubeHarness.Fast with { ListPageSize = 250 }, metrics, new ListLogger());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        var run = watcher.RunAsync(cts.Token);
        await Eventually.True(() => watcher.Relists == 1 && view.Pods.Count == 2_000, "pods listed", seconds: 200);

        Assert.Equal(8, aliveWhenAsked.Count);
        Assert.Equal(8 * 251, probes.Count);   // each page and its items
        // While page n is fetched, nothing of pages 1..n-1 is reachable: the view took what it needed and let go.
        Assert.All(aliveWhenAsked, alive => Assert.Equal(0, alive));
        Assert.Equal(0, Alive(probes));
        Assert.True(view.TryGetPodByIp(FlowWatch.Flows.IpAddr.Parse("10.1.7.207"), out var pod) && pod.Name == "p-1999");
        cts.Cancel();
        await run;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Probe(List<WeakReference> probes, V1PodList page)
    {
        probes.Add(new WeakReference(page));
        foreach (var item in page.Items) probes.Add(new WeakReference(item));
    }

    /// <summary>Earlier pages still reachable; polled for up to 20 s, because the response can arrive on another thread
    /// before the watcher's own frame (which still names the previous page) has returned; on a loaded machine that thread
    /// can wait seconds for a core (2 s was seen to be too short at load 40 on 2 cores). It returns as soon as none is.</summary>
    private static async Task<int> AliveAfterSettling(List<WeakReference> probes)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var alive = Alive(probes);
        while (alive > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
            alive = Alive(probes);
        }
        return alive;
    }

    private static int Alive(List<WeakReference> probes)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return probes.Count(p => p.IsAlive);
    }
}
