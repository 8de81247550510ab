using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Simulation;
using Google.Protobuf.WellKnownTypes;

namespace FlowWatch.Tests.Simulation;

public sealed class FlowRingTests
{
    private static GetFlowsResponse Message(int i, string node) => new()
    {
        NodeName = node,
        Time = new Timestamp { Seconds = 1_700_000_000 + i },
        Flow = new FlowWatch.Hubble.Proto.Flow.Flow { Uuid = i.ToString(), NodeName = node },
    };

    [Fact]
    public void AReaderLappedByTheWriter_IsToldHowManyItMissed_AndResumesAtTheOldest()
    {
        var ring = new FlowRing(4, ["a", "b"]);
        ring.Append(Enumerable.Range(0, 10).Select(i => Message(i, i % 2 == 0 ? "a" : "b")).ToList());
        var into = new List<FlowRing.Entry>();
        var (lost, cursor) = ring.Read(3, into, 100);
        Assert.Equal(3, lost);
        Assert.Equal(10, cursor);
        Assert.Equal(new[] { "6", "7", "8", "9" }, into.Select(e => e.Message.Flow.Uuid));
        Assert.Equal(new long[] { 6, 7, 8, 9 }, into.Select(e => e.Seq));
        Assert.Equal((4, 6, 6), (ring.Count, ring.Oldest, ring.Overwritten));
    }

    [Fact]
    public void NodeCounts_FollowWhatIsHeld_AndWhatWasSeen()
    {
        var ring = new FlowRing(4, ["a", "b"]);
        ring.Append(Enumerable.Range(0, 6).Select(i => Message(i, i < 5 ? "a" : "b")).ToList());
        Assert.Equal((3L, 5L), ring.NodeCounts("a"));
        Assert.Equal((1L, 1L), ring.NodeCounts("b"));
        Assert.Equal((0L, 0L), ring.NodeCounts("c"));
    }

    [Fact]
    public async Task WaitFor_CompletesOnlyOnceTheEntryExists()
    {
        var ring = new FlowRing(8, ["a"]);
        var waiting = ring.WaitForAsync(1, CancellationToken.None);
        ring.Append([Message(0, "a")]);
        Assert.False(waiting.IsCompleted);
        ring.Append([Message(1, "a")]);
        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(ring.WaitForAsync(0, CancellationToken.None).IsCompleted);
    }
}
