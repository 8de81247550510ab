using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using FlowWatch.Tests.Detectors.Dns;
using static FlowWatch.Tests.Kube.KubeObjects;

namespace FlowWatch.Tests.Kube;

/// <summary>Paged lists (limit/continue) against the fake API server's paging, with its documented 410 semantics.</summary>
public sealed class PagedListTests
{
    private static string PodIp(int i) => $"10.1.{i / 256}.{i % 256}";
    private static string PodName(int i) => $"p-{i:D5}";

    private static void SeedPods(FakeApiServer api, int count)
    {
        for (var i = 0; i < count; i++) api.Pods.Put(Pod("shop", PodName(i), $"n{i % 50}", PodIp(i), T0));
    }

    [Fact]
    public async Task TwelveThousandPods_OverTwentyFourPages_Converge_WatchFromTheListsVersion_410OnTheWatchRelists()
    {
        long listedAt = 0;
        await using var h = await KubeHarness.StartAsync(api => { SeedPods(api, 12_000); listedAt = api.CurrentResourceVersion; });
        h.Run();
        await h.SyncedAsync(90);
        Assert.Equal(12_000, h.View.Pods.Count);
        Assert.Equal(12_000, h.View.PodIpCount);
        Assert.True(h.View.TryGetPodByIp(IpAddr.Parse(PodIp(11_999)), out var last) && last.Name == PodName(11_999));
        Assert.Equal(24, h.Api.Pods.ListRequests);
        Assert.Equal(1, h.Api.Pods.ListsStarted);
        Assert.All(h.Api.Pods.ListLimits, l => Assert.Equal(500, l));
        Assert.Equal(24, MetricText.Value(h.Registry, "flowwatch_kube_list_pages_total", ("resource", "pods")));
        Assert.Equal(0, h.Api.Pods.WatchListRequests);
        await Eventually.True(() => h.Api.Pods.WatchRequests >= 1, "pods watched");
        Assert.Equal(listedAt.ToString(), h.Api.Pods.WatchResourceVersions[0]);

        // A watch that expires (ERROR 410) lists again, page by page, and the list drops what went meanwhile.
        await Eventually.True(() => h.Api.Pods.OpenWatches == 1, "pods watch open");
        h.Api.Pods.RefuseWatches = true;
        h.Api.Pods.DropWatches();
        await Eventually.True(() => h.Watcher.Watcher("pods").Status == Kubernetes.Watching.WatcherStatus.Disconnected, "pods watch down");
        h.Api.Pods.Delete("shop", PodName(7));
        h.Api.Pods.Compact();
        h.Api.Pods.RefuseWatches = false;
        await Eventually.True(() => h.Api.Pods.ListsStarted == 2 && h.View.Pod("shop", PodName(7)) is null, "relisted after 410", 90);
        await h.SyncedAsync(90);
        Assert.Equal(11_999, h.View.Pods.Count);
        Assert.Equal(48, h.Api.Pods.ListRequests);
        await Eventually.True(() => MetricText.Value(h.Registry, "flowwatch_kube_relists_total", ("resource", "pods"), ("reason", "gone")) == 1,
            "the relist counted as after 410");   // counted just after the list's last page is applied
    }

    [Fact]
    public async Task ContinueTokenExpiringMidList_RestartsTheList_ConvergesWithNoDuplicateOrMissingPod()
    {
        var churned = false;
        await using var h = await KubeHarness.StartAsync(api =>
        {
            SeedPods(api, 12_000);
            api.Pods.AfterPage = page =>
            {
                if (page != 3 || churned) return;
                churned = true;
                // After three pages: one pod already listed goes, one not yet listed goes, one is added; then etcd compacts.
                api.Pods.Delete("shop", PodName(5));
                api.Pods.Delete("shop", PodName(9_000));
                api.Pods.Put(Pod("shop", "p-new", "n1", "10.2.0.1", T0));
                api.Pods.Compact();
            };
        });
        h.Run();
        await h.SyncedAsync(90);
        Assert.True(churned);
        Assert.Equal(1, h.Api.Pods.ExpiredContinues);
        Assert.Equal(2, h.Api.Pods.ListsStarted);
        Assert.Equal(3 + 1 + 24, h.Api.Pods.ListRequests);   // three pages, the continue refused with 410, then the whole list again
        Assert.Equal(1, MetricText.Value(h.Registry, "flowwatch_kube_list_restarts_total", ("resource", "pods")));

        var expected = Enumerable.Range(0, 12_000).Where(i => i is not 5 and not 9_000).Select(PodName).Append("p-new").ToHashSet();
        Assert.Equal(expected.Count, h.View.Pods.Count);
        Assert.Equal(expected.Count, h.View.PodIpCount);
        Assert.All(expected, n => Assert.NotNull(h.View.Pod("shop", n)));
        Assert.Null(h.View.Pod("shop", PodName(5)));
        Assert.Null(h.View.Pod("shop", PodName(9_000)));
        // Pod 5 was applied from the abandoned first attempt; the restarted list did not name it, so the view deleted it.
        Assert.Contains(h.Events, e => e is PodState { Name: "p-00005", Deleted: true });
        Assert.DoesNotContain(h.Events, e => e is PodState { Name: "p-09000" });
        // Every pod published once as present, none twice: the restart re-applies unchanged pods without publishing them again.
        var published = h.Events.OfType<PodState>().Where(p => !p.Deleted).GroupBy(p => p.Name).ToList();
        Assert.All(published, g => Assert.Single(g));
    }

    [Fact]
    public async Task ListPageSizeZero_ListsUnpaged()
    {
        await using var h = await KubeHarness.StartAsync(api => SeedPods(api, 1_200), KubeHarness.Fast with { ListPageSize = 0 });
        h.Run();
        await h.SyncedAsync(90);
        Assert.Equal(1_200, h.View.Pods.Count);
        Assert.Equal(1, h.Api.Pods.ListRequests);
        Assert.Equal([null], h.Api.Pods.ListLimits);
    }
}
