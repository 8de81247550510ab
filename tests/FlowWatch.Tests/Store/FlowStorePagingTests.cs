using FlowWatch.Flows;
using FlowWatch.Store;

namespace FlowWatch.Tests.Store;

/// <summary>Paging back with a cursor and following forward with <c>after</c>, while flows keep arriving.</summary>
public sealed class FlowStorePagingTests
{
    [Fact]
    public void CursorPaging_WhileNewFlowsArrive_ReturnsEachOlderFlowOnce()
    {
        var store = StoreFlows.Filled(100_000, 1000);
        var seen = new List<long>();
        var query = new FlowQuery { Limit = 64 };
        long next = 1000;
        while (true)
        {
            var page = store.Query(query);
            seen.AddRange(page.Flows.Select(StoreFlows.NumberOf));
            for (var i = 0; i < 50; i++) store.Add(StoreFlows.Numbered(next++));   // arrivals between pages
            if (page.NextCursor is not { } cursor) break;
            query = query with { Before = cursor };
        }
        Assert.Equal(Enumerable.Range(0, 1000).Reverse().Select(i => (long)i), seen);
    }

    [Fact]
    public void CursorPaging_WithAFilter_ReturnsEveryMatchOnce()
    {
        var store = StoreFlows.Filled(100_000, 20_000);
        var got = FlowStoreBoundsTests.Drain(store, new FlowQuery { Verdict = Verdict.Dropped });
        Assert.Equal(Enumerable.Range(0, 2000).Reverse().Select(i => i * 10L), got.Select(StoreFlows.NumberOf));
    }

    [Fact]
    public void After_ReturnsNewerFlowsOldestFirst_UpToTheLimit()
    {
        var store = StoreFlows.Filled(100_000, 100);
        var latest = store.Query(new FlowQuery { Limit = 1 }).Latest;
        Assert.Equal(99, latest);
        for (long n = 100; n < 130; n++) store.Add(StoreFlows.Numbered(n));

        var page = store.Query(new FlowQuery { After = latest, Limit = 20 });
        Assert.Equal(Enumerable.Range(100, 20).Select(i => (long)i), page.Flows.Select(StoreFlows.NumberOf));
        var rest = store.Query(new FlowQuery { After = page.Flows[^1].Seq, Limit = 20 });
        Assert.Equal(Enumerable.Range(120, 10).Select(i => (long)i), rest.Flows.Select(StoreFlows.NumberOf));
        Assert.Equal(129, rest.Latest);
    }

    [Fact]
    public void After_FromAnEvictedFlow_StartsAtTheOldestKept()
    {
        var store = StoreFlows.Filled(4096, 10_000);
        var page = store.Query(new FlowQuery { After = 5, Limit = 3 });
        Assert.Equal([10_000 - 4096L, 10_000 - 4095L, 10_000 - 4094L], page.Flows.Select(StoreFlows.NumberOf));
    }

    [Fact]
    public void Cursor_PastTheOldestKept_EndsThePaging()
    {
        var store = StoreFlows.Filled(4096, 10_000);
        var page = store.Query(new FlowQuery { Before = 100 });
        Assert.Empty(page.Flows);
        Assert.Null(page.NextCursor);
    }
}
