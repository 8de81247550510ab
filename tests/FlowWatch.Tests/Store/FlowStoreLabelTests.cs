using FlowWatch.Flows;
using FlowWatch.Store;

namespace FlowWatch.Tests.Store;

/// <summary>Endpoint labels in the store: one label-set id per endpoint entry (not per flow), Hubble's selector meaning
/// on either side or one side, and a bounded table whose overflow is counted and never matched.</summary>
public sealed class FlowStoreLabelTests
{
    private static FlowEndpoint Pod(string ns, string pod, params string[] labels) =>
        new(1000, ns, pod, pod, "Deployment") { Labels = EndpointLabels.Of(labels) };

    private static readonly FlowEndpoint Web = Pod("shop", "web-1", "k8s:app=web", "k8s:version=v1");
    private static readonly FlowEndpoint Api = Pod("shop", "api-1", "k8s:app=api", "k8s:version=v2");
    private static readonly FlowEndpoint World = new(2, "", "", "", "") { Labels = EndpointLabels.Of(["reserved:world"]) };

    private static FlowRecord Flow(long n, FlowEndpoint src, FlowEndpoint dst) => new()
    {
        TimeNanos = StoreFlows.Start + n, Verdict = Verdict.Forwarded, Protocol = L4Protocol.Tcp, Source = src, Destination = dst,
    };

    private static FlowStore Filled(out Prometheus.CollectorRegistry registry, FlowStoreOptions? options = null)
    {
        registry = Prometheus.Metrics.NewCustomRegistry();
        var store = new FlowStore(options ?? new FlowStoreOptions { MaxFlows = 4096 }, Prometheus.Metrics.WithCustomRegistry(registry));
        store.Add(Flow(1, Web, Api));
        store.Add(Flow(2, Api, Web));
        store.Add(Flow(3, World, Web));
        store.Add(Flow(4, Api, FlowEndpoint.Empty));
        return store;
    }

    private static long[] Times(FlowStore store, FlowQuery q) =>
        store.Query(q).Flows.Select(f => f.TimeNanos - StoreFlows.Start).Order().ToArray();

    [Theory]
    [InlineData("k8s:app=web", null, null, new long[] { 1, 2, 3 })]
    [InlineData("app=web", null, null, new long[] { 1, 2, 3 })]        // a key without a source: any source
    [InlineData("any:app=web", null, null, new long[] { 1, 2, 3 })]
    [InlineData("reserved:app=web", null, null, new long[0])]           // the wrong source
    [InlineData(null, "k8s:app=web", null, new long[] { 1 })]
    [InlineData(null, null, "app=web", new long[] { 2, 3 })]
    [InlineData(null, null, "!k8s:app", new long[] { 4 })]               // the empty endpoint has no labels
    [InlineData(null, "reserved:world", null, new long[] { 3 })]
    [InlineData("version in (v1,v3)", null, null, new long[] { 1, 2, 3 })]
    [InlineData(null, "version notin (v2)", null, new long[] { 1, 3 })]
    [InlineData(null, "app=api,version=v2", "app=web", new long[] { 2 })]
    [InlineData("app=nothing", null, null, new long[0])]
    public void Selectors_MeanWhatHubbleMeans(string? label, string? from, string? to, long[] expected)
    {
        var store = Filled(out _);
        Assert.Equal(expected, Times(store, new FlowQuery { Label = label, FromLabel = from, ToLabel = to }));
    }

    [Fact]
    public void LabelAndNamespace_HoldOnOneSide_Together()
    {
        var store = Filled(out _);
        store.Add(Flow(5, Pod("web", "web-9", "k8s:app=web"), Pod("shop", "db-1", "k8s:app=db")));
        // flow 5: web-9 has app=web but is in web; db-1 is in shop but is app=db: no side has both.
        Assert.Equal([1, 2, 3], Times(store, new FlowQuery { Label = "app=web", Namespace = "shop" }));
    }

    [Fact]
    public void StoredFlows_CarryTheirEndpointsLabels_AndOneSetIsKeptOnce()
    {
        var store = Filled(out _);
        for (var n = 10; n < 1000; n++) store.Add(Flow(n, Web, Api));
        Assert.Equal(3, store.LabelSets);
        var newest = store.Query(new FlowQuery { Limit = 1 }).Flows.Single();
        Assert.Equal(["k8s:app=web", "k8s:version=v1"], newest.Source.Labels.Labels);
        Assert.Same(Web.Labels, newest.Source.Labels);
        Assert.True(newest.Destination.Labels.Equals(EndpointLabels.Of(["k8s:app=api", "k8s:version=v2"])));
    }

    [Fact]
    public void LabelSetsPastTheTable_AreNotKept_AreCounted_AndNoSelectorMatchesThem()
    {
        var store = Filled(out var registry, new FlowStoreOptions { MaxFlows = 4096, MaxLabelSets = 16 });
        // 16 ids: the empty set, the overflow id, the 3 sets above and 11 of these 40.
        for (var i = 0; i < 40; i++) store.Add(Flow(100 + i, Pod("shop", $"p-{i}", $"k8s:app=p{i}"), FlowEndpoint.Empty));
        Assert.Equal(14, store.LabelSets);
        Assert.Equal(29, store.NamesOverflowed);
        Assert.Single(Times(store, new FlowQuery { Label = "app=p10" }));
        Assert.Empty(Times(store, new FlowQuery { Label = "app=p11" }));
        Assert.Empty(Times(store, new FlowQuery { FromLabel = "app" , FromPod = "shop/p-39" }));
        var overflowed = store.Query(new FlowQuery { FromPod = "shop/p-39" }).Flows.Single();
        Assert.True(overflowed.Source.Labels.IsEmpty);
        using var ms = new MemoryStream();
        registry.CollectAndExportAsTextAsync(ms).GetAwaiter().GetResult();
        Assert.Contains("flowwatch_store_names_overflowed_total{table=\"label_sets\"} 29", System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }

    [Fact]
    public void AMalformedSelector_IsRefusedNamingTheField()
    {
        var store = Filled(out _);
        var e = Assert.Throws<FlowWatch.Hubble.Filtering.FlowFilterException>(() => store.Query(new FlowQuery { ToLabel = "app in web" }));
        Assert.Equal("to_label", e.Field);
    }
}
