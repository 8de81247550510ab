using FlowWatch.Kubernetes;
using FlowWatch.Kubernetes.Watching;
using FlowWatch.Tests.Detectors.Dns;
using static FlowWatch.Tests.Kube.KubeObjects;

namespace FlowWatch.Tests.Kube;

/// <summary>Watch-list streaming (sendInitialEvents) where the server serves it, paged list-then-watch where it refuses.</summary>
public sealed class WatchListTests
{
    private static void SeedPods(FakeApiServer api, int count)
    {
        for (var i = 0; i < count; i++) api.Pods.Put(Pod("shop", $"p-{i:D4}", "n1", $"10.1.{i / 256}.{i % 256}", T0));
    }

    [Fact]
    public async Task Served_SyncsFromTheStream_WithoutAList_ThenWatches_And410StreamsAgain()
    {
        await using var h = await KubeHarness.StartAsync(api => SeedPods(api, 1_500), KubeHarness.Streaming);
        h.Run();
        await h.SyncedAsync();
        Assert.Equal(1_500, h.View.Pods.Count);
        Assert.Equal(0, h.Api.Pods.ListRequests);
        Assert.Equal(1, h.Api.Pods.WatchListRequests);
        Assert.Equal(1, MetricText.Value(h.Registry, "flowwatch_kube_sync_mode", ("resource", "pods")));
        Assert.False(h.Watcher.Watcher("pods") is ResourceWatcher<k8s.Models.V1Pod, k8s.Models.V1PodList> { WatchListRefused: true });
        // The custom resources cannot be streamed through the client; they page.
        Assert.Equal(0, h.Api.CiliumEndpoints.WatchListRequests);
        Assert.Equal(1, h.Api.CiliumEndpoints.ListsStarted);

        // The same stream goes on as a watch.
        h.Api.Pods.Put(Pod("shop", "late", "n1", "10.2.0.1", T0));
        await Eventually.True(() => h.View.Pod("shop", "late") is not null, "a pod added after the initial events");
        Assert.Equal(1, h.Api.Pods.WatchRequests);

        // Dropped: resumes from the last version (a plain watch); expired: streams the state again, dropping what went.
        h.Api.Pods.DropWatches();
        await Eventually.True(() => h.Api.Pods.WatchRequests == 2 && h.Api.Pods.OpenWatches == 1, "plain watch after a drop");
        Assert.Equal(1, h.Api.Pods.WatchListRequests);
        h.Api.Pods.RefuseWatches = true;
        h.Api.Pods.DropWatches();
        await Eventually.True(() => h.Watcher.Watcher("pods").Status == WatcherStatus.Disconnected, "pods watch down");
        h.Api.Pods.Delete("shop", "p-0003");
        h.Api.Pods.Compact();
        h.Api.Pods.RefuseWatches = false;
        await Eventually.True(() => h.Api.Pods.WatchListRequests == 2 && h.View.Pod("shop", "p-0003") is null, "streamed again after 410");
        Assert.Contains(h.Events, e => e is PodState { Name: "p-0003", Deleted: true });
        Assert.Equal(1_500, h.View.Pods.Count);
        Assert.Equal(0, h.Api.Pods.ListRequests);
    }

    [Fact]
    public async Task Refused_FallsBackToPagedListThenWatch_AndStaysThere()
    {
        await using var h = await KubeHarness.StartAsync(api =>
        {
            SeedPods(api, 1_200);
            foreach (var r in new[] { api.Pods, api.Services, api.Nodes, api.EndpointSlices }) r.WatchListSupported = false;
        }, KubeHarness.Streaming);
        h.Run();
        await h.SyncedAsync();
        Assert.Equal(1_200, h.View.Pods.Count);
        Assert.Equal(1, h.Api.Pods.RefusedWatchLists);
        Assert.Equal(0, h.Api.Pods.WatchListRequests);
        Assert.Equal(1, h.Api.Pods.ListsStarted);
        Assert.Equal(3, h.Api.Pods.ListRequests);
        Assert.Equal(0, MetricText.Value(h.Registry, "flowwatch_kube_sync_mode", ("resource", "pods")));
        Assert.Contains(h.Log.Lines, l => l.Contains("pods: the API server does not serve watch-list (422"));

        // After a 410 it relists by pages again rather than asking for watch-list once more.
        await Eventually.True(() => h.Api.Pods.OpenWatches == 1, "pods watch open");
        h.Api.Pods.Compact();
        h.Api.Pods.ExpireWatches();
        await Eventually.True(() => h.Api.Pods.ListsStarted == 2, "paged relist after 410");
        Assert.Equal(1, h.Api.Pods.RefusedWatchLists);
    }

    [Fact]
    public async Task SwitchedOff_NeverAsksForWatchList()
    {
        await using var h = await KubeHarness.StartAsync(api => SeedPods(api, 10), KubeHarness.Fast);
        h.Run();
        await h.SyncedAsync();
        Assert.Equal(0, h.Api.Pods.WatchListRequests + h.Api.Pods.RefusedWatchLists);
        Assert.Equal(1, h.Api.Pods.ListsStarted);
    }
}
