using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using FlowWatch.Kubernetes.Watching;
using FlowWatch.Tests.Detectors.Dns;
using static FlowWatch.Tests.Kube.KubeObjects;

namespace FlowWatch.Tests.Kube;

/// <summary>The cluster view against a fake API server over HTTP on 127.0.0.1, through KubernetesClient's own list and watch.</summary>
public sealed class ClusterWatcherTests
{
    private static IpAddr Ip(string s) => IpAddr.Parse(s);

    [Fact]
    public async Task View_ConvergesFromListAndWatch_SurvivesDropAnd410_NeverKeepsDeletedPod()
    {
        await using var h = await KubeHarness.StartAsync(api =>
        {
            api.Pods.Put(Pod("shop", "a", "n1", "10.0.0.1", T0, owner: "web-5d4f8c7b9"));
            api.Pods.Put(Pod("shop", "b", "n1", "10.0.0.2", T0));
        });
        h.Run();
        await h.SyncedAsync();
        Assert.True(h.View.TryGetPodByIp(Ip("10.0.0.1"), out var a));
        Assert.Equal(("shop", "a", "web", "n1"), (a.Namespace, a.Name, a.Workload, a.Node));

        // Watch: an added pod appears, a deleted one goes, a bookmark moves the version on.
        h.Api.Pods.Put(Pod("shop", "c", "n2", "10.0.0.3", T0));
        await Eventually.True(() => h.View.TryGetPodByIp(Ip("10.0.0.3"), out _), "pod c from the watch");
        h.Api.Pods.Delete("shop", "a");
        await Eventually.True(() => h.View.Pod("shop", "a") is null && !h.View.TryGetPodByIp(Ip("10.0.0.1"), out _), "pod a deleted");
        Assert.Contains(h.Events, e => e is PodState { Name: "a", Deleted: true });
        h.Api.Pods.Bookmark();
        var bookmarkRv = h.Api.CurrentResourceVersion.ToString();
        await Eventually.True(() => MetricText.Value(h.Registry, "flowwatch_kube_watch_events_total", ("resource", "pods"), ("type", "BOOKMARK")) == 1, "bookmark seen");

        // Dropped connection: the watcher reconnects from its resourceVersion, without a relist.
        var lists = h.Api.Pods.ListRequests;
        h.Api.Pods.DropWatches();
        h.Api.Pods.Put(Pod("shop", "d", "n2", "10.0.0.4", T0));
        await Eventually.True(() => h.View.Pod("shop", "d") is not null, "pod d after the drop");
        Assert.Equal(lists, h.Api.Pods.ListRequests);
        Assert.Equal(bookmarkRv, h.Api.Pods.WatchResourceVersions[^1]);

        // While no watch can open, b is deleted and history compacted: the resumed watch gets 410, the relist drops b.
        h.Api.Pods.RefuseWatches = true;
        h.Api.Pods.DropWatches();
        await Eventually.True(() => h.Watcher.Watcher("pods").Status == WatcherStatus.Disconnected, "pods watch down");
        h.Api.Pods.Delete("shop", "b");
        h.Api.Pods.Compact();
        h.Api.Pods.RefuseWatches = false;
        await Eventually.True(() => h.Api.Pods.ListRequests == lists + 1 && h.View.Pod("shop", "b") is null, "relist after 410");
        Assert.Contains(h.Events, e => e is PodState { Name: "b", Deleted: true });
        Assert.Equal(1, MetricText.Value(h.Registry, "flowwatch_kube_relists_total", ("resource", "pods"), ("reason", "gone")));

        // A 410 as an ERROR event on an open watch also relists.
        await Eventually.True(() => h.Api.Pods.OpenWatches == 1, "watch reopened");
        h.Api.Pods.Compact();
        h.Api.Pods.ExpireWatches();
        await Eventually.True(() => h.Api.Pods.ListRequests == lists + 2, "relist after ERROR 410");
        await h.SyncedAsync();
        Assert.Equal(["shop/c", "shop/d"], new[] { "a", "b", "c", "d" }.Where(n => h.View.Pod("shop", n) is not null).Select(n => "shop/" + n));
    }

    [Fact]
    public async Task AbsentCrds_StandDown_WithoutFailingTheRest()
    {
        await using var h = await KubeHarness.StartAsync(api =>
        {
            api.CiliumEndpoints.Absent = true;
            api.CiliumNodes.Absent = true;
            api.Pods.Put(Pod("shop", "a", "n1", "10.0.0.1", T0));
        });
        h.Run();
        await h.SyncedAsync();
        Assert.Equal(WatcherStatus.Absent, h.Watcher.Watcher("ciliumendpoints").Status);
        Assert.Equal(WatcherStatus.Absent, h.Watcher.Watcher("ciliumnodes").Status);
        Assert.False(h.Watcher.CiliumEndpointsWatched);
        Assert.Null(h.Watcher.StaleReason());
        Assert.Equal(-1, MetricText.Value(h.Registry, "flowwatch_kube_connected", ("resource", "ciliumendpoints")));
        Assert.Equal(1, h.Api.CiliumEndpoints.ListRequests);
        h.Api.Pods.Put(Pod("shop", "b", "n1", "10.0.0.2", T0));
        await Eventually.True(() => h.View.Pod("shop", "b") is not null, "pods still watched");
    }

    [Fact]
    public async Task FailingAndSlowLists_AreRetried_TheViewSaysNotSyncedMeanwhile_ThenConverges()
    {
        await using var h = await KubeHarness.StartAsync(api =>
        {
            api.Pods.Put(Pod("shop", "a", "n1", "10.0.0.1", T0));
            api.Pods.FailLists = int.MaxValue; // failing until the test lets it recover
            api.Services.ListDelay = TimeSpan.FromMilliseconds(400);
        });
        h.Run();
        await Eventually.True(() => h.Api.Pods.ListRequests >= 2, "pod lists retried after failures");
        Assert.False(h.Watcher.Synced);
        Assert.False(h.View.TryGetPodByIp(Ip("10.0.0.1"), out _));
        await Eventually.True(() => h.Watcher.StaleReason() is { } r && r.Contains("pods not synced"), () => "stale while pods cannot be listed: " + h.Watcher.StaleReason());

        var failed = h.Api.Pods.ListRequests;
        h.Api.Pods.FailLists = 0;
        await h.SyncedAsync();
        Assert.True(h.View.TryGetPodByIp(Ip("10.0.0.1"), out _));
        Assert.True(failed >= 2, $"{failed} failed lists before recovery");
        await Eventually.True(() => h.Watcher.StaleReason() is null, () => "fresh once listed: " + h.Watcher.StaleReason());
    }

    [Fact]
    public async Task Readiness_SaysStale_WhenAWatchStaysDown()
    {
        await using var h = await KubeHarness.StartAsync();
        h.Run();
        await h.SyncedAsync();
        Assert.Null(h.Watcher.StaleReason());
        h.Api.Services.RefuseWatches = true;
        h.Api.Services.DropWatches();
        await Eventually.True(() => h.Watcher.StaleReason() is not null, "stale after the watch stays down");
        Assert.Contains("services disconnected", h.Watcher.StaleReason());
        h.Api.Services.RefuseWatches = false;
        await Eventually.True(() => h.Watcher.StaleReason() is null, () => "fresh again after reconnect: " + h.Watcher.StaleReason() + " " + string.Join(", ", h.Watcher.Watchers.Select(w => $"{w.Resource}={w.Status}")) + $" watches={h.Api.Services.WatchRequests}\n{h.Log}");
    }

    [Fact]
    public async Task CiliumState_ConvertsAtTheEdge_EniPrimaryAndSecondary_EndpointNodeByIp_Backends()
    {
        await using var h = await KubeHarness.StartAsync(api =>
        {
            api.Nodes.Put(Node("n1", "192.168.0.10"));
            api.CiliumNodes.Put(CiliumNode("n1", ("eni-a", 0, ["10.1.0.5", "10.1.0.6"]), ("eni-b", 1, ["10.1.1.7"])));
            api.CiliumEndpoints.Put(Endpoint("shop", "a", "10.1.0.5", "192.168.0.10"));
            api.Services.Put(NodePortService("shop", "web", 80, 30080, 8080));
            api.EndpointSlices.Put(Slice("shop", "web", "web-abc", ("a", "10.1.0.5", "n1", true), ("b", "10.1.1.7", "n1", false)));
        });
        h.Run();
        await h.SyncedAsync();
        var enis = h.Events.OfType<EniAddressState>().ToList();
        Assert.Contains(new EniAddressState("n1", Ip("10.1.0.5"), "eni-a", true), enis);
        Assert.Contains(new EniAddressState("n1", Ip("10.1.1.7"), "eni-b", false), enis);
        Assert.Contains(new CiliumEndpointState("shop", "a", Ip("10.1.0.5"), "n1"), h.Events.OfType<CiliumEndpointState>());
        var svc = Assert.Single(h.Events.OfType<ServiceState>());
        Assert.Equal(new ServicePortState("http", "TCP", 80, 30080, 8080), Assert.Single(svc.Ports));
        var backends = h.Events.OfType<ServiceBackendsState>().Last();
        Assert.Equal(["a:True", "b:False"], backends.Backends.Select(b => $"{b.Pod}:{b.Ready}").Order());

        // An address leaving an ENI is published as deleted.
        h.Api.CiliumNodes.Put(CiliumNode("n1", ("eni-a", 0, ["10.1.0.5", "10.1.0.6"])));
        await Eventually.True(() => h.Events.Any(e => e is EniAddressState { Interface: "eni-b", Deleted: true }), "ENI address removed");
    }
}
