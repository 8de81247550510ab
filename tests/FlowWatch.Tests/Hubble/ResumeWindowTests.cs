using FlowWatch.Flows;
using FlowWatch.Hubble;

namespace FlowWatch.Tests.Hubble;

public sealed class ResumeWindowTests
{
    private const long Second = 1_000_000_000;
    private static readonly long T0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z").ToUnixTimeMilliseconds() * 1_000_000;

    private static FlowRecord Flow(string uuid, long offsetNanos) => new() { Uuid = uuid, TimeNanos = T0 + offsetNanos };

    [Fact]
    public void FlowsSharingOneTimestamp_AreToldApartByUuid_OnResume()
    {
        var w = new ResumeWindow(TimeSpan.FromSeconds(2), 1000);
        Assert.True(w.Accept(Flow("a", 5)));
        Assert.True(w.Accept(Flow("b", 5)));
        w.Reconnecting();
        Assert.False(w.Accept(Flow("a", 5)));
        Assert.False(w.Accept(Flow("b", 5)));
        Assert.True(w.Accept(Flow("c", 5)), "a third flow at the same instant is new, not a duplicate");
    }

    [Fact]
    public void OutOfOrderFlow_WithinTheOverlap_IsAcceptedOnce()
    {
        var w = new ResumeWindow(TimeSpan.FromSeconds(2), 1000);
        Assert.True(w.Accept(Flow("late-node", Second)));
        Assert.True(w.Accept(Flow("fast-node", 2 * Second)));
        Assert.True(w.Accept(Flow("slow-node", Second / 2)), "an older flow from a slower node is not a duplicate");
        w.Reconnecting();
        Assert.False(w.Accept(Flow("slow-node", Second / 2)));
        Assert.False(w.Accept(Flow("fast-node", 2 * Second)));
    }

    [Fact]
    public void Since_IsTheNewestFlowMinusTheOverlap()
    {
        var w = new ResumeWindow(TimeSpan.FromSeconds(2), 1000);
        Assert.Null(w.Since);
        w.Accept(Flow("first", 0));
        w.Accept(Flow("a", 10 * Second + 123_456_789));
        var expected = DateTimeOffset.UnixEpoch.AddTicks((T0 + 8 * Second + 123_456_700) / 100);
        Assert.Equal(expected, w.Since);
    }

    [Fact]
    public void Since_ReachesBeforeTheOldestFlowAccepted_SoALaggingNodesFlowsDeliveredAfterTheStartAreNotSkipped()
    {
        // The first stream followed from "now" and began with a fast node's flow; a node lagging 1.2 s had flows on their way,
        // stamped before it, when the stream broke.
        var w = new ResumeWindow(TimeSpan.FromSeconds(2), 1000);
        Assert.True(w.Accept(Flow("fast-1", Second)));
        Assert.True(w.Accept(Flow("lagging-1", Second - 200_000_000)));
        Assert.True(w.Accept(Flow("fast-2", Second + 500_000_000)));
        Assert.Equal(DateTimeOffset.UnixEpoch.AddTicks((T0 + Second + 500_000_000 - 2 * Second) / 100), w.Since);
        w.Reconnecting();
        // The resumed stream sends everything since then: the lagging node's flow not received yet is new, the rest are not.
        Assert.True(w.Accept(Flow("lagging-2", Second - 100_000_000)), "a lagging node's flow stamped before the first flow received is not lost");
        Assert.False(w.Accept(Flow("lagging-1", Second - 200_000_000)));
        Assert.False(w.Accept(Flow("fast-1", Second)));
    }

    [Fact]
    public void IdsOlderThanTheOverlap_AreForgotten_SoMemoryStaysBounded()
    {
        var w = new ResumeWindow(TimeSpan.FromSeconds(1), 1_000_000);
        for (var i = 0; i < 10_000; i++) w.Accept(Flow($"f{i}", i * (Second / 1000))); // 1,000 flows a second for 10 s
        Assert.InRange(w.Remembered, 1000, 1002);
        Assert.Equal(0, w.Forgotten);
    }

    [Fact]
    public void Capacity_BoundsTheIds_AndCountsWhatItForgets()
    {
        var w = new ResumeWindow(TimeSpan.FromSeconds(10), 100);
        for (var i = 0; i < 250; i++) w.Accept(Flow($"f{i}", 7));
        Assert.Equal(100, w.Remembered);
        Assert.Equal(150, w.Forgotten);
    }

    [Fact]
    public void FlowsWithoutUuid_AfterAReconnect_AreDroppedUpToTheNewestSeen()
    {
        var w = new ResumeWindow(TimeSpan.FromSeconds(2), 1000);
        Assert.True(w.Accept(Flow("", Second)));
        Assert.True(w.Accept(Flow("", Second)), "without a reconnect nothing is a duplicate");
        w.Reconnecting();
        Assert.False(w.Accept(Flow("", Second)));
        Assert.True(w.Accept(Flow("", Second + 1)));
    }
}
