using FlowWatch.Flows;
using FlowWatch.Hubble;
using FlowWatch.Pipeline;

namespace FlowWatch.Tests.Pipeline;

/// <summary>The checkpoint's resume point trails the newest processed flow by the allowed lateness, with the ids processed since.</summary>
public sealed class ResumeTrackerTests
{
    private const long Ms = 1_000_000;
    private static readonly long T0 = FlowRecord.ToNanos(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static FlowRecord Flow(string uuid, long ms, string node = "a") => new() { Uuid = uuid, TimeNanos = T0 + ms * Ms, NodeName = node, Origin = "relay" };

    [Fact]
    public void ResumePoint_IsTheNewestMinusTheLateness_WithEveryIdProcessedSince()
    {
        var tracker = new ResumeTracker(TimeSpan.FromSeconds(2));
        foreach (var (id, ms) in new[] { ("old", 0L), ("mid", 1500L), ("x", 2500L), ("late", 1200L), ("new", 4000L), ("tie", 4000L) })
            tracker.Add(Flow(id, ms));
        var point = tracker.Snapshot("relay");
        Assert.Equal(T0 + 4000 * Ms, point.NewestNanos);
        Assert.Equal(["new", "tie"], point.Ids);
        Assert.Equal(T0 + 2000 * Ms, point.SinceNanos);
        // 'mid' and 'late' are behind the resume point: a resumed stream does not send them again.
        Assert.Equal(new[] { "x", "new", "tie" }.Select(FlowIdHash.Of).Order(), point.Seen.Order());
    }

    [Fact]
    public void ResumePoint_OfARunShorterThanTheLateness_ReachesBeforeItsFirstFlow()
    {
        // The run followed from "now" for half a second; a node lagging by more than that still had flows stamped before the
        // run's first one on their way when it stopped: the next run must be sent them.
        var tracker = new ResumeTracker(TimeSpan.FromSeconds(2));
        tracker.Add(Flow("first", 1000));
        tracker.Add(Flow("second", 1500));
        var point = tracker.Snapshot();
        Assert.Equal(T0 - 500 * Ms, point.SinceNanos);
        Assert.Equal(new[] { "first", "second" }.Select(FlowIdHash.Of).Order(), point.Seen.Order());
    }

    [Fact]
    public void AFlowStampedFarAheadOfEventTime_DoesNotMoveTheResumePoint()
    {
        var now = T0 + 1000 * Ms;
        var tracker = new ResumeTracker(TimeSpan.FromSeconds(2), () => now);
        tracker.Add(Flow("ok", 1000));
        tracker.Add(Flow("2099", 1000 + 60_000_000));    // refused by the pipeline as bad time, but handed to the sinks
        Assert.Equal(T0 + 1000 * Ms, tracker.Snapshot().NewestNanos);
    }

    [Fact]
    public void IdsPastTheBound_AreForgottenOldestFirst_AndCounted()
    {
        var tracker = new ResumeTracker(TimeSpan.FromSeconds(10)) { IdCapacity = 3 };
        for (var i = 0; i < 5; i++) tracker.Add(Flow($"f{i}", i));
        Assert.Equal(2, tracker.Forgotten);
        Assert.Equal(new[] { "f2", "f3", "f4" }.Select(FlowIdHash.Of).Order(), tracker.Snapshot().Seen.Order());
    }

    [Fact]
    public void ARestartFromTheResumePoint_TakesTheLaggingNodesFlowsOnce_AndNothingProcessedTwice()
    {
        // Run #1 processed a's flows to 3,000 ms; b lags 1,500 ms and had reached 1,400 ms when FlowWatch stopped.
        var tracker = new ResumeTracker(TimeSpan.FromSeconds(2));
        var processed = new List<FlowRecord>();
        for (var ms = 0; ms <= 3000; ms += 100) processed.Add(Flow($"a{ms}", ms));
        for (var ms = 0; ms <= 1400; ms += 100) processed.Add(Flow($"b{ms}", ms, "b"));
        foreach (var f in processed.OrderBy(f => f.TimeNanos)) tracker.Add(f);
        var point = tracker.Snapshot();

        // Run #2: the Relay resends everything since the resume point, b still lagging behind a.
        var window = new ResumeWindow(TimeSpan.FromSeconds(2), 10_000);
        window.StartFrom(point);
        Assert.Equal(DateTimeOffset.UnixEpoch.AddTicks((T0 + 1000 * Ms) / 100), window.Since);
        var resent = new List<FlowRecord>();
        for (var ms = 1000; ms <= 5000; ms += 100) resent.Add(Flow($"a{ms}", ms));
        for (var ms = 1000; ms <= 3500; ms += 100) resent.Add(Flow($"b{ms}", ms, "b"));
        var accepted = resent.OrderBy(f => f.TimeNanos + (f.NodeName == "b" ? 1500 * Ms : 0)).Where(window.Accept).Select(f => f.Uuid).ToHashSet();
        var expected = resent.Select(f => f.Uuid).Where(u => !processed.Any(p => p.Uuid == u)).ToHashSet();
        Assert.Equal(expected, accepted);
        Assert.Contains("b1500", accepted);                 // stamped before run #1's newest, never processed: not lost
        Assert.DoesNotContain("a2500", accepted);           // processed by run #1: not twice
    }

    [Fact]
    public void AnOlderCheckpoint_WithoutTheSpan_ResumesAtItsNewestAsBefore()
    {
        var window = new ResumeWindow(TimeSpan.FromSeconds(2), 1000);
        window.StartFrom(T0 + 3000 * Ms, ["at-newest"]);
        Assert.Equal(DateTimeOffset.UnixEpoch.AddTicks((T0 + 3000 * Ms) / 100), window.Since);
        Assert.False(window.Accept(Flow("older", 2999)));
        Assert.False(window.Accept(Flow("at-newest", 3000)));
        Assert.True(window.Accept(Flow("tie", 3000)));
    }
}
