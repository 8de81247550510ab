using System.Reactive.Concurrency;
using FlowWatch.Findings;

namespace FlowWatch.Tests.Pipeline;

public sealed class FindingTrackerTests
{
    private static readonly DateTimeOffset T0 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static Finding Sample(long count) => new("dns_drops/shop/checkout", FindingKind.DnsDrops, Severity.Warning,
        FindingState.Open, new FindingSubject(Namespace: "shop", Workload: "checkout"),
        new Dictionary<string, long> { ["policy"] = count }, default, default, "lookups denied", []);

    [Fact]
    public void OpensOnce_UpdatesOnNewEvidence_ResolvesAfterQuietPeriod()
    {
        var clock = new HistoricalScheduler(T0);
        using var tracker = new FindingTracker(clock, TimeSpan.FromMinutes(2));
        var seen = new List<Finding>();
        using var _ = tracker.Findings.Subscribe(seen.Add);

        tracker.Report(Sample(1));
        clock.AdvanceBy(TimeSpan.FromSeconds(10));
        tracker.Report(Sample(1));   // same evidence: no news
        tracker.Report(Sample(5));   // more evidence: an update
        Assert.Equal(2, seen.Count);
        Assert.Equal(T0, seen[1].FirstSeen);
        Assert.Equal(T0.AddSeconds(10), seen[1].LastSeen);

        clock.AdvanceBy(TimeSpan.FromSeconds(100));
        Assert.Equal(2, seen.Count); // 110 s after the last report: still open

        clock.AdvanceBy(TimeSpan.FromSeconds(40));
        Assert.Equal(3, seen.Count);
        Assert.Equal(FindingState.Resolved, seen[2].State);
        Assert.Empty(tracker.Open);
    }

    [Fact]
    public void OpenFindingsAreBounded_OldestEvicted()
    {
        var clock = new HistoricalScheduler(T0);
        using var tracker = new FindingTracker(clock, TimeSpan.FromMinutes(2), capacity: 3);
        for (var i = 0; i < 5; i++)
        {
            tracker.Report(Sample(1) with { Id = "k" + i });
            clock.AdvanceBy(TimeSpan.FromSeconds(1));
        }
        Assert.Equal(3, tracker.Open.Count);
        Assert.Equal(2, tracker.Evicted);
        Assert.DoesNotContain(tracker.Open, f => f.Id is "k0" or "k1");
    }
}
