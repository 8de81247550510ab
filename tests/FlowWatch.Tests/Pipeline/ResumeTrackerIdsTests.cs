using FlowWatch.Flows;
using FlowWatch.Pipeline;

namespace FlowWatch.Tests.Pipeline;

/// <summary>The resume tracker keeps the ids of the newest flows as they were, canonical or not, and nothing of the records.</summary>
public sealed class ResumeTrackerIdsTests
{
    [Fact]
    public void CanonicalAndOtherIdsAtTheNewestTime_AreBothInTheSnapshot()
    {
        var tracker = new ResumeTracker();
        const string canonical = "0b5d2f3e-8c1a-4e6b-9f7d-2a4c6e8b0d1f";
        tracker.Add(new FlowRecord { TimeNanos = 10, Origin = "a", Uuid = "older" });
        tracker.Add(new FlowRecord { TimeNanos = 20, Origin = "a", Uuid = canonical });
        tracker.Add(new FlowRecord { TimeNanos = 20, Origin = "a", Uuid = "not-a-uuid" });
        tracker.Add(new FlowRecord { TimeNanos = 20, Origin = "a" });
        var (newest, ids, _, _) = tracker.Snapshot("a");
        Assert.Equal(20, newest);
        Assert.Equal(new[] { canonical, "not-a-uuid" }, ids.Order(StringComparer.Ordinal).ToArray());
    }
}
