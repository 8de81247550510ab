using FlowWatch.Flows;
using FlowWatch.Pipeline;

namespace FlowWatch.Tests.Pipeline;

/// <summary>The reorder stage: lagging nodes merged back in order, idle nodes let go, late flows passed on, the bound held.</summary>
public sealed class ReorderBufferTests
{
    private const long Ms = 1_000_000;
    private static readonly long T0 = FlowRecord.ToNanos(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static FlowRecord At(string node, long ms) => new() { TimeNanos = T0 + ms * Ms, NodeName = node };

    private static FlowRecord From(string origin, string node, long ms) => new() { TimeNanos = T0 + ms * Ms, NodeName = node, Origin = origin };

    private static (ReorderBuffer Buffer, List<FlowRecord> Out) New(int capacity = 1000, double latenessSeconds = 2)
    {
        var output = new List<FlowRecord>();
        return (new ReorderBuffer(TimeSpan.FromSeconds(latenessSeconds), capacity, output.Add), output);
    }

    private static long[] Times(IEnumerable<FlowRecord> flows) => flows.Select(f => (f.TimeNanos - T0) / Ms).ToArray();

    [Fact]
    public void OneNode_PassesStraightThrough()
    {
        var (buffer, output) = New();
        foreach (var ms in new long[] { 0, 10, 10, 25 })
        {
            buffer.Add(At("a", ms));
            Assert.Equal(0, buffer.Count);
        }
        Assert.Equal([0, 10, 10, 25], Times(output));
    }

    [Fact]
    public void ALaggingNode_IsMergedBackInTimeOrder()
    {
        var (buffer, output) = New();
        // Node b's flows arrive 700 ms late, as through a Relay whose merge gave up on b for a moment.
        var arrivals = new[] { At("a", 0), At("b", 0), At("a", 100), At("a", 200), At("a", 300), At("a", 800),
            At("b", 50), At("b", 150), At("b", 250), At("b", 750), At("a", 900), At("b", 950) };
        foreach (var f in arrivals) buffer.Add(f);
        buffer.Flush();

        Assert.Equal([0, 0, 50, 100, 150, 200, 250, 300, 750, 800, 900, 950], Times(output));
        Assert.Equal(0, buffer.OutOfOrder);
    }

    [Fact]
    public void NothingIsReleasedAheadOfAnActiveNode()
    {
        var (buffer, output) = New();
        buffer.Add(At("a", 0));
        buffer.Add(At("b", 0));
        buffer.Add(At("a", 1500));   // b has reported only up to 0: a's flow waits for it
        Assert.Equal([0, 0], Times(output));
        Assert.Equal(1, buffer.Count);
        buffer.Add(At("b", 1400));
        Assert.Equal([0, 0, 1400], Times(output));
        buffer.Add(At("b", 1600));   // now a holds it back: a has reported only up to 1500
        Assert.Equal([0, 0, 1400, 1500], Times(output));
    }

    [Fact]
    public void ANodeIdleLongerThanTheLateness_StopsHoldingTheWatermark()
    {
        var (buffer, output) = New();
        buffer.Add(At("quiet", 0));
        for (var ms = 500; ms <= 2000; ms += 500) buffer.Add(At("busy", ms));
        Assert.Equal([0], Times(output));        // quiet is 2 s behind: still within the lateness, it holds everything
        buffer.Add(At("busy", 2001));              // now 2.001 s behind: idle, let go
        Assert.Equal([0, 500, 1000, 1500, 2000, 2001], Times(output));
        Assert.Equal(0, buffer.Count);
    }

    [Fact]
    public void AFlowBehindWhatWasReleased_IsPassedOnAtOnce_NeverDropped()
    {
        var (buffer, output) = New();
        buffer.Add(At("a", 0));
        buffer.Add(At("a", 5000));
        buffer.Add(At("b", 1000));   // b came back 4 s behind a: too late to be put in order
        Assert.Equal([0, 5000, 1000], Times(output));
        Assert.Equal(1, buffer.OutOfOrder);
        Assert.Equal(0, buffer.Forced);
    }

    [Fact]
    public void OneNodesSmallDisorder_IsSortedWhileItWaits()
    {
        var (buffer, output) = New();
        buffer.Add(At("a", 0));
        buffer.Add(At("b", 0));
        foreach (var ms in new long[] { 30, 10, 20, 50, 40 }) buffer.Add(At("b", ms));
        buffer.Add(At("a", 100));
        Assert.Equal([0, 0, 10, 20, 30, 40, 50], Times(output));
        buffer.Flush();
        Assert.Equal([0, 0, 10, 20, 30, 40, 50, 100], Times(output));
    }

    [Fact]
    public void WhenFull_TheOldestIsForcedOutAndCounted()
    {
        var (buffer, output) = New(capacity: 3);
        buffer.Add(At("slow", 0));
        for (var ms = 100; ms <= 600; ms += 100) buffer.Add(At("fast", ms));   // slow holds the watermark at 0
        Assert.Equal(3, buffer.Count);
        Assert.Equal(3, buffer.Forced);
        Assert.Equal([0, 100, 200, 300], Times(output));
        buffer.Flush();
        Assert.Equal([0, 100, 200, 300, 400, 500, 600], Times(output));
    }

    [Fact]
    public void ReleaseUpTo_LetsEventTimeMoveOnWithoutTheSlowNode()
    {
        var (buffer, output) = New();
        buffer.Add(At("a", 0));
        buffer.Add(At("b", 0));
        buffer.Add(At("a", 300));
        buffer.Add(At("a", 600));
        buffer.ReleaseUpTo(T0 + 400 * Ms);
        Assert.Equal([0, 0, 300], Times(output));
        Assert.Equal(1, buffer.Count);
    }

    [Fact]
    public void ManyNodes_BeyondTheNodeBound_AreForcedThroughRatherThanDropped()
    {
        var output = new List<FlowRecord>();
        var buffer = new ReorderBuffer(TimeSpan.FromSeconds(2), 1000, output.Add, maxNodes: 2);
        buffer.Add(At("a", 0));
        buffer.Add(At("b", 0));
        buffer.Add(At("c", 10));
        Assert.Equal(3, output.Count);
        Assert.Equal(1, buffer.Forced);
    }

    [Fact]
    public void ExpectedNodes_HoldEverythingUntilTheyHaveSpoken_OrTheStreamIsOlderThanTheLateness()
    {
        var (buffer, output) = New();
        buffer.Expect(["a", "b", "c"]);
        buffer.Add(At("a", 0));
        buffer.Add(At("a", 100));
        buffer.Add(At("b", 50));
        Assert.Empty(output);                       // c has not spoken: it may lag from the very start
        buffer.Add(At("c", 20));
        Assert.Equal([0, 20], Times(output));       // everyone has spoken: the usual watermark (c's newest, 20)

        var (late, lateOut) = New();
        late.Expect(["a", "silent"]);
        late.Add(At("a", 0));
        late.Add(At("a", 2000));
        Assert.Empty(lateOut);
        late.Add(At("a", 2001));                    // older than the lateness: the silent node no longer holds anything
        Assert.Equal([0, 2000, 2001], Times(lateOut));
    }

    [Fact]
    public void ANodeThatJoinsLater_IsWaitedFor_ForAtMostTheLateness_FromWhenItWasAnnounced()
    {
        var (buffer, output) = New(latenessSeconds: 1);
        buffer.Add(At("a", 0));
        buffer.Add(At("a", 5000));
        Assert.Equal([0, 5000], Times(output));
        buffer.Announce(["b"], []);                 // GetNodes: b joined, and has sent nothing yet
        buffer.Add(At("a", 5500));
        Assert.Equal(2, output.Count);              // b's first flows may be up to the lateness behind: a waits
        buffer.Add(At("b", 5100));                  // b speaks, 400 ms behind a: in order, since a's 5,500 waited
        buffer.Add(At("a", 5600));
        Assert.Equal([0, 5000, 5100], Times(output));
        Assert.Equal(0, buffer.OutOfOrder);

        var (quiet, quietOut) = New(latenessSeconds: 1);
        quiet.Add(At("a", 0));
        quiet.Announce(["silent"], []);
        quiet.Add(At("a", 1000));
        Assert.Single(quietOut);
        quiet.Add(At("a", 1001));                   // the lateness has passed since it was announced: it holds nothing any more
        Assert.Equal([0, 1000, 1001], Times(quietOut));
    }

    [Fact]
    public void ANodeTheRelayNoLongerConnects_StopsHoldingTheWatermarkAtOnce_UntilItSpeaksAgain()
    {
        var (buffer, output) = New();
        buffer.Add(At("a", 0));
        buffer.Add(At("b", 0));
        buffer.Add(At("a", 500));
        Assert.Equal([0, 0], Times(output));        // b's newest (0) holds a's 500
        buffer.Announce([], ["b"]);                  // GetNodes: b unavailable
        buffer.Add(At("a", 600));
        Assert.Equal([0, 0, 500, 600], Times(output));
        buffer.Add(At("b", 650));                    // b is back: it holds the watermark again
        buffer.Add(At("a", 700));
        buffer.Add(At("a", 800));
        Assert.Equal([0, 0, 500, 600, 650], Times(output));
    }

    [Fact]
    public void RelayNodeNames_WithTheirClusterPrefix_MatchTheFlowsNodeNames()
    {
        var (buffer, output) = New();
        buffer.Announce(["mesh-1/a", "mesh-1/b"], []);
        buffer.Add(At("a", 0));
        Assert.Empty(output);
        buffer.Add(At("b", 10));
        Assert.Equal([0], Times(output));
    }

    [Fact]
    public void TwoSourcesWithANodeOfTheSameName_AreTwoQueues_SoTheLaggingOnesFlowsAreStillPutInOrder()
    {
        // Two clusters' Relays, each with a node called n1 (EKS names nodes by IP; VPCs may overlap): east lags 500 ms.
        var (buffer, output) = New();
        buffer.Add(From("west", "n1", 0));
        buffer.Add(From("east", "n1", 0));
        buffer.Add(From("west", "n1", 600));
        buffer.Add(From("west", "n1", 900));
        buffer.Add(From("east", "n1", 400));         // behind west's 600 and 900: it holds them as a node of its own
        buffer.Add(From("east", "n1", 1000));
        buffer.Flush();
        Assert.Equal([0, 0, 400, 600, 900, 1000], Times(output));
        Assert.Equal(0, buffer.OutOfOrder);
        Assert.Equal(2, buffer.Nodes);
    }

    [Fact]
    public void ASourcesNodeList_HoldsOnlyItsOwnNode_WhileKubernetesNamesANodeForAnySource()
    {
        var (buffer, output) = New();
        buffer.Announce("east", ["n1"], []);         // east's Relay: n1 connected, not heard from yet
        buffer.Add(From("west", "n1", 0));           // west's n1 is another node: east's n1 still holds
        buffer.Add(From("west", "n1", 100));
        Assert.Empty(output);
        buffer.Add(From("east", "n1", 50));
        Assert.Equal([0, 50], Times(output));

        var (gone, goneOut) = New();
        gone.Add(From("west", "n1", 0));
        gone.Add(From("east", "n1", 0));
        gone.Add(From("west", "n1", 500));
        gone.Announce("west", [], ["n1"]);           // west's n1 gone says nothing of east's n1, which still holds west's 500
        gone.Add(From("west", "n1", 600));
        Assert.Equal([0, 0], Times(goneOut));
        gone.Announce("east", [], ["n1"]);
        gone.Add(From("west", "n1", 700));
        Assert.Equal([0, 0, 500, 600, 700], Times(goneOut));

        var (kube, kubeOut) = New();
        kube.Expect(["n1"]);                         // Kubernetes: an agent on n1, of whichever source
        kube.Add(From("west", "n2", 0));
        Assert.Empty(kubeOut);
        kube.Add(From("east", "n1", 10));
        Assert.Equal([0], Times(kubeOut));
    }
}
