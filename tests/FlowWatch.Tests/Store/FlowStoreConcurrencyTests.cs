using FlowWatch.Flows;
using FlowWatch.Store;

namespace FlowWatch.Tests.Store;

/// <summary>Readers on other threads while the pipeline writes and the ring overwrites itself.</summary>
public sealed class FlowStoreConcurrencyTests
{
    [Fact]
    public async Task ReadsDuringWrites_SeeWholeFlowsInOrder_WhileTheRingOverwritesItself()
    {
        var store = StoreFlows.Store(8192, out _);
        const long Total = 100_000;
        using var done = new CancellationTokenSource();
        long queries = 0;
        var writer = Task.Run(() =>
        {
            for (long n = 0; n < Total; n++)
            {
                store.Add(StoreFlows.Numbered(n));
                // Let the readers in at every block, so reads overlap the overwriting of every block.
                if (n % 4096 == 0) SpinWait.SpinUntil(() => Interlocked.Read(ref queries) > n / 4096, 1000);
            }
            done.Cancel();
        });
        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                var page = r == 0
                    ? store.Query(new FlowQuery { Verdict = Verdict.Dropped, Limit = 500 })
                    : store.Query(new FlowQuery { Pod = "pod-3", Limit = 500 });
                var numbers = page.Flows.Select(StoreFlows.NumberOf).ToList();   // checks every field matches its number
                for (var i = 1; i < numbers.Count; i++) Assert.True(numbers[i] < numbers[i - 1], "not newest first");
                if (r == 0) Assert.All(numbers, n => Assert.Equal(0, n % 10));
                // "pod-3" is a name prefix, as in Hubble: pod-3 and pod-30..pod-39.
                else Assert.All(numbers, n => Assert.True(Pod3(n % 50) || Pod3((n + 7) % 50)));
                Interlocked.Increment(ref queries);
            }
        })).ToList();
        await Task.WhenAll(readers.Append(writer)).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(Interlocked.Read(ref queries) > 10, $"only {queries} queries ran during the writes");
        Assert.Equal(8192, store.Count);
        Assert.Equal(Total - 8192, store.Evicted);
    }

    private static bool Pod3(long index) => index == 3 || index / 10 == 3;
}
