using FlowWatch.Detectors;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hubble;
using FlowWatch.Pipeline;

namespace FlowWatch.Tests.Pipeline;

/// <summary>Findings restored from a checkpoint: open from the start, kept by their detector, resolved when it stays quiet.</summary>
public sealed class RestoredFindingsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Quiet = TimeSpan.FromMinutes(2);

    private static Finding Restored(string id) => new(id, FindingKind.DnsDrops, Severity.Warning, FindingState.Open,
        new FindingSubject(Namespace: "shop"), new Dictionary<string, long> { ["denied"] = 5 }, T0.AddHours(-1), T0.AddMinutes(-1), "denied", []);

    /// <summary>Raises "dns/shop/cart" through a real tracker whenever <see cref="Raise"/> is called.</summary>
    private sealed class FakeDetector : IDetector
    {
        private FindingTracker? _tracker;
        public string Name => "fake";
        public IObservable<Finding> Attach(DetectorContext context)
        {
            _tracker = new FindingTracker(context.Scheduler, Quiet);
            return _tracker.Findings;
        }
        public void Raise() => _tracker!.Report(Restored("dns/shop/cart") with { FirstSeen = default });
        public void Dispose() => _tracker?.Dispose();
    }

    private static FlowPipeline Pipeline(FakeDetector fake, IReadOnlyList<Finding> restored, out FindingBook book)
    {
        FlowPipeline? pipeline = null;
        pipeline = new FlowPipeline([fake, new RestoredFindings(restored, _ => Quiet, id => pipeline!.Book.AwaitingDetector(id))],
            Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        pipeline.Book.Restore(restored);
        book = pipeline.Book;
        return pipeline;
    }

    [Fact]
    public void NotRaisedAgain_ResolvesAfterTheQuietPeriodOfEventTime()
    {
        using var pipeline = Pipeline(new FakeDetector(), [Restored("dns/shop/cart")], out var book);
        Assert.Single(book.OpenFindings);
        pipeline.Start(T0);
        pipeline.AdvanceTo(T0 + Quiet - TimeSpan.FromSeconds(1));
        Assert.Single(book.OpenFindings);
        pipeline.AdvanceTo(T0 + Quiet);
        Assert.Empty(book.OpenFindings);
        Assert.Equal(T0.AddHours(-1), Assert.Single(book.RecentlyResolved).FirstSeen);
    }

    [Fact]
    public void RaisedAgain_StaysOpenWithItsFirstSeen_AndResolvesWhenItsDetectorSaysSo()
    {
        var fake = new FakeDetector();
        using var pipeline = Pipeline(fake, [Restored("dns/shop/cart")], out var book);
        pipeline.Start(T0);
        pipeline.AdvanceTo(T0 + TimeSpan.FromSeconds(30));
        fake.Raise();
        Assert.False(book.AwaitingDetector("dns/shop/cart"));
        pipeline.AdvanceTo(T0 + Quiet + TimeSpan.FromSeconds(10));
        var open = Assert.Single(book.OpenFindings);
        Assert.Equal(T0.AddHours(-1), open.FirstSeen);
        Assert.Equal(0, book.RaisedTotal);
        pipeline.AdvanceTo(T0 + TimeSpan.FromSeconds(30) + Quiet + TimeSpan.FromSeconds(15));
        Assert.Empty(book.OpenFindings);
    }

    [Fact]
    public void ResumeWindow_StartFrom_DropsWhatTheCheckpointCovered_KeepsTiesItDidNotSee()
    {
        var window = new ResumeWindow(TimeSpan.FromSeconds(2), 1000);
        window.StartFrom(1_000_000_050, ["seen-at-newest"]);
        Assert.Equal(DateTimeOffset.UnixEpoch.AddTicks(10_000_000), window.Since);
        FlowRecord Flow(long t, string id) => new() { TimeNanos = t, Uuid = id };
        Assert.False(window.Accept(Flow(1_000_000_010, "older")));
        Assert.False(window.Accept(Flow(1_000_000_050, "seen-at-newest")));
        Assert.True(window.Accept(Flow(1_000_000_050, "tie-not-seen")));
        Assert.True(window.Accept(Flow(1_000_000_060, "newer")));
    }
}
