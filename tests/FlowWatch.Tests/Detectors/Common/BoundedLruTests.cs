using FlowWatch.Detectors.Common;

namespace FlowWatch.Tests.Detectors.Common;

public class BoundedLruTests
{
    [Fact]
    public void PastTheBound_TheLeastRecentLeaves_AndIsCountedAndHandedOver()
    {
        var evicted = new List<(int, string)>();
        var lru = new BoundedLru<int, string>(2, (k, v) => evicted.Add((k, v)));
        lru.Set(1, "a");
        lru.Set(2, "b");
        Assert.True(lru.TryGet(1, out _)); // 1 is now the most recent
        lru.Set(3, "c");

        Assert.Equal([(2, "b")], evicted);
        Assert.Equal(1, lru.Evicted);
        Assert.Equal(2, lru.Count);
        Assert.False(lru.ContainsKey(2));
        Assert.Equal([1, 3], lru.Entries.Select(e => e.Key));
    }

    [Fact]
    public void PeekDoesNotChangeTheOrder_GetDoes()
    {
        var lru = new BoundedLru<int, string>(2);
        lru.Set(1, "a");
        lru.Set(2, "b");
        Assert.True(lru.TryPeek(1, out var v));
        Assert.Equal("a", v);
        lru.Set(3, "c");
        Assert.False(lru.ContainsKey(1));
    }

    [Fact]
    public void RemoveOldestWhile_StopsAtTheFirstEntryThatHolds_AndDoesNotCountEvictions()
    {
        var removed = new List<int>();
        var lru = new BoundedLru<int, long>(10);
        for (var i = 0; i < 5; i++) lru.Set(i, i * 10);
        lru.TryGet(0, out _); // oldest is 1 now; 0 sits at the young end

        var n = lru.RemoveOldestWhile((_, at) => at < 30, (k, _) => removed.Add(k));

        Assert.Equal(2, n);
        Assert.Equal([1, 2], removed);
        Assert.Equal(0, lru.Evicted);
        Assert.Equal([3, 4, 0], lru.Entries.Select(e => e.Key));
        Assert.True(lru.TryPeekOldest(out var oldest, out _));
        Assert.Equal(3, oldest);
    }

    [Fact]
    public void TryPeekOldest_OnEmpty_IsFalse() => Assert.False(new BoundedLru<string, int>(3).TryPeekOldest(out _, out _));

    [Fact]
    public void GetOrAdd_CreatesOnce()
    {
        var created = 0;
        var lru = new BoundedLru<int, string>(4);
        Assert.Equal("v1", lru.GetOrAdd(1, k => { created++; return $"v{k}"; }));
        Assert.Equal("v1", lru.GetOrAdd(1, k => { created++; return $"v{k}"; }));
        Assert.Equal(1, created);
    }

    [Fact]
    public void ZeroCapacity_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedLru<int, int>(0));
}
