using FlowWatch.Flows;
using FlowWatch.Store;

namespace FlowWatch.Tests.Store;

/// <summary>The store keeps at most its bound, lets the oldest go first, counts them, and stays compact.</summary>
public sealed class FlowStoreBoundsTests
{
    [Fact]
    public void EntryIs104BytesWithItsUuid_AndTheDefaultBudgetStillHoldsTheDefaultCount()
    {
        // 88 bytes before the uuid (16 bytes) and event sub-type were kept for exports Hubble can match; no padding crept in.
        Assert.Equal(104, CompactFlow.Bytes);
        Assert.True(CompactFlow.Bytes + FlowBlock.IndexBytesPerFlow <= 106, $"entry {CompactFlow.Bytes} B + index {FlowBlock.IndexBytesPerFlow} B");
        var defaults = FlowStoreOptions.Default;
        Assert.True(defaults.Capacity >= defaults.MaxFlows, $"default budget holds {defaults.Capacity} flows, fewer than the default {defaults.MaxFlows}");
    }

    [Fact]
    public void Capacity_IsTheSmallerOfCountAndMemoryBudget_InWholeBlocks()
    {
        Assert.Equal(8192, new FlowStoreOptions { MaxFlows = 5000 }.Capacity);
        var budget = 100L * FlowBlock.Size * (CompactFlow.Bytes + FlowBlock.IndexBytesPerFlow);
        Assert.Equal(100 * FlowBlock.Size, new FlowStoreOptions { MaxFlows = 10_000_000, MemoryBudgetBytes = budget }.Capacity);
    }

    [Fact]
    public void BadBounds_AreRejectedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => new FlowStoreOptions { MaxFlows = 0 }.Validate());
        Assert.Equal("MaxFlows", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => new FlowStoreOptions { MemoryBudgetBytes = 1000 }.Validate());
        Assert.Equal("MemoryBudgetBytes", e.ParamName);
    }

    [Fact]
    public void OldestLeaveFirst_AndAreCounted_InTheMetrics()
    {
        var store = StoreFlows.Store(4096, out var registry);
        for (long n = 0; n < 10_000; n++) store.Add(StoreFlows.Numbered(n));

        Assert.Equal(4096, store.Count);
        Assert.Equal(10_000 - 4096, store.Evicted);
        var all = Drain(store);
        Assert.Equal(4096, all.Count);
        Assert.Equal(Enumerable.Range(10_000 - 4096, 4096).Reverse().Select(i => (long)i), all.Select(StoreFlows.NumberOf));

        var text = MetricText(registry);
        Assert.Contains("flowwatch_store_flows 4096", text);
        Assert.Contains($"flowwatch_store_evicted_total {10_000 - 4096}", text);
    }

    [Fact]
    public void NamesPastTheTable_AreStoredAsOverflow_AndCounted()
    {
        var store = new FlowStore(new FlowStoreOptions { MaxStrings = 16, MaxEndpoints = 16 }, Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        for (long n = 0; n < 200; n++) store.Add(StoreFlows.Numbered(n));
        Assert.True(store.NamesOverflowed > 0);
        Assert.Equal(200, store.Count);
        var newest = store.Query(new FlowQuery { Limit = 1 }).Flows.Single();
        Assert.Equal("", newest.Source.Pod);   // endpoint table full: stored as the empty endpoint
    }

    internal static List<StoredFlow> Drain(FlowStore store, FlowQuery? query = null)
    {
        var all = new List<StoredFlow>();
        var q = (query ?? new FlowQuery()) with { Limit = 1000 };
        while (true)
        {
            var page = store.Query(q);
            all.AddRange(page.Flows);
            if (page.NextCursor is not { } next) return all;
            q = q with { Before = next };
        }
    }

    private static string MetricText(Prometheus.CollectorRegistry registry)
    {
        using var ms = new MemoryStream();
        registry.CollectAndExportAsTextAsync(ms).GetAwaiter().GetResult();
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }
}
