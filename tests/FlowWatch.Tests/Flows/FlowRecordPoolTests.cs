using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Simulation;
using FlowWatch.Tests.Simulation;
using Google.Protobuf;

namespace FlowWatch.Tests.Flows;

/// <summary>The record pool: a record goes back once, the pool stays within its bound, and a reused record carries no old flow.</summary>
public sealed class FlowRecordPoolTests
{
    private static byte[] OneMessage(int skip = 0) => new TrafficGenerator(7, 5, ScenarioSet.All, 1_000)
        .Generate(SimFlows.Start, TimeSpan.FromSeconds(1)).Where(r => r.Flow is not null).Skip(skip).First().ToByteArray();

    [Fact]
    public void ReturningARecordTwice_IsRefusedAndCounted()
    {
        var pool = new FlowRecordPool();
        var record = new FlowWireDecoder { Records = pool }.Decode(OneMessage()).Flow!;
        Assert.True(pool.Return(record));
        Assert.False(pool.Return(record));
        Assert.Equal(1, pool.Refused);
        Assert.Equal(1, pool.Returned);
        Assert.Equal(1, pool.FreeCount);
    }

    [Fact]
    public void ARecordBuiltWithAnInitializer_BelongsToNoPool()
    {
        var pool = new FlowRecordPool();
        var record = new FlowRecord { TimeNanos = 5, NodeName = "n1" };
        FlowRecordPool.Release(record);
        Assert.False(pool.Return(record));
        Assert.Equal(1, pool.Refused);
        Assert.Equal(0, pool.FreeCount);
        Assert.Equal(5, record.TimeNanos);
        Assert.Equal("n1", record.NodeName);
    }

    [Fact]
    public void ARecordFromAnotherPool_IsRefused()
    {
        var mine = new FlowRecordPool();
        var theirs = new FlowRecordPool();
        var record = new FlowWireDecoder { Records = theirs }.Decode(OneMessage()).Flow!;
        Assert.False(mine.Return(record));
        Assert.Equal(1, mine.Refused);
        Assert.True(theirs.Return(record));
    }

    [Fact]
    public void ThePoolKeepsNoMoreThanItsCapacity_AndCountsWhatItLetsGo()
    {
        var pool = new FlowRecordPool(capacity: 2);
        var decoder = new FlowWireDecoder { Records = pool };
        var message = OneMessage();
        var records = Enumerable.Range(0, 3).Select(_ => decoder.Decode(message).Flow!).ToList();
        Assert.Equal(3, pool.Created);
        Assert.Equal(3, pool.Outstanding);
        foreach (var r in records) Assert.True(pool.Return(r));
        Assert.Equal(2, pool.FreeCount);
        Assert.Equal(1, pool.Discarded);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void AGrowingPool_KeepsWhatItsPeakNeeded_UpToItsMaximum_SoTheNextSwingMakesNone()
    {
        var pool = new FlowRecordPool(capacity: 2, maxCapacity: 4);
        var decoder = new FlowWireDecoder { Records = pool };
        var message = OneMessage();
        // A reorder stage's swing: five held at once, then all let go.
        var held = Enumerable.Range(0, 5).Select(_ => decoder.Decode(message).Flow!).ToList();
        Assert.Equal(5, pool.PeakOutstanding);
        foreach (var r in held) Assert.True(pool.Return(r));
        Assert.Equal(4, pool.FreeCount);
        Assert.Equal(1, pool.Discarded);
        // The next swing of four is served from the pool alone.
        held = Enumerable.Range(0, 4).Select(_ => decoder.Decode(message).Flow!).ToList();
        Assert.Equal(5, pool.Created);
        Assert.Equal(4, pool.Reused);
        foreach (var r in held) Assert.True(pool.Return(r));
        Assert.Equal(4, pool.FreeCount);
        Assert.Equal(1, pool.Discarded);
    }

    [Fact]
    public void AReusedRecord_HoldsOnlyTheNewFlow()
    {
        var pool = new FlowRecordPool();
        var decoder = new FlowWireDecoder { Records = pool };
        var plain = new FlowWireDecoder();
        var first = OneMessage();
        var second = OneMessage(skip: 17);
        var a = decoder.Decode(first).Flow!;
        var uuid = a.Uuid;   // formatted and cached in the record: a reused record must not keep it
        Assert.NotEqual("", uuid);
        Assert.True(pool.Return(a));
        var b = decoder.Decode(second).Flow!;
        Assert.Same(a, b);
        Assert.Equal(1, pool.Reused);
        var expected = plain.Decode(second).Flow!;
        Assert.Equal(Describe(expected), Describe(b));
        Assert.NotEqual(uuid, b.Uuid);
    }

    [Fact]
    public void APoisonedReturnedRecord_LooksLikeNoRealFlow()
    {
        var pool = new FlowRecordPool(poisonReturned: true);
        var record = new FlowWireDecoder { Records = pool }.Decode(OneMessage()).Flow!;
        pool.Return(record);
        Assert.True(record.TimeNanos < 0);
        Assert.Equal("(returned)", record.NodeName);
        Assert.Equal("(returned)", record.Source.Namespace);
    }

    internal static string Describe(FlowRecord f) =>
        $"{f.TimeNanos} {f.Uuid} {f.Origin} {f.NodeName} {f.Verdict} {f.DropReason} {f.Kind} {f.EventType}/{f.EventSubType} " +
        $"{f.SourceIp}:{f.SourcePort} {f.DestinationIp}:{f.DestinationPort} {f.Protocol} {f.TcpFlags} {f.IcmpType}/{f.IcmpCode} " +
        $"{f.Source} {f.Destination} {f.SourceService} {f.DestinationService} {f.Reply} {f.Direction} {f.ObservationPoint} " +
        $"{f.L7?.Kind} {f.L7?.LatencyNanos} {f.L7?.Dns} {f.L7?.Http}";
}
