using FlowWatch.Flows;
using FlowWatch.Pipeline;
using FlowWatch.Tests.Detectors.Dns;
using PromMetrics = Prometheus.Metrics;

namespace FlowWatch.Tests.Pipeline;

/// <summary>The intake queue under overload: a flooding source pays for its own excess, a quiet one keeps its flows,
/// shedding is counted per source, and flows still leave in the order they arrived.</summary>
public sealed class FairIntakeQueueTests
{
    private static FlowRecord Flow(string origin, long n) => new() { Origin = origin, TimeNanos = n };

    private static List<FlowRecord> Drain(FairIntakeQueue q)
    {
        var all = new List<FlowRecord>();
        while (q.TryRead(out var f)) all.Add(f!);
        return all;
    }

    [Fact]
    public void FloodingSource_LosesItsOwnOldest_QuietSourceLosesNothing()
    {
        var shed = new List<string>();
        var q = new FairIntakeQueue(100, shed.Add);
        // A quiet source's 10 flows, then a flood of 1,000 from another: the queue only ever holds 100.
        for (var i = 0; i < 10; i++) q.TryWrite(Flow("quiet", i));
        for (var i = 0; i < 1000; i++) q.TryWrite(Flow("flood", 1000 + i));

        var left = Drain(q);
        Assert.Equal(100, left.Count);
        Assert.Equal(10, left.Count(f => f.Origin == "quiet"));
        Assert.Equal(Enumerable.Range(1910, 90).Select(i => (long)i), left.Where(f => f.Origin == "flood").Select(f => f.TimeNanos));
        Assert.Equal(910, shed.Count);
        Assert.All(shed, s => Assert.Equal("flood", s));
        Assert.Equal(new Dictionary<string, long> { ["flood"] = 910 }, q.ShedBySource());
    }

    [Fact]
    public void TwoSourcesOverTheirShare_EachKeepsHalf_AndEachIsCountedForWhatItLost()
    {
        var q = new FairIntakeQueue(100, _ => { });
        // Interleaved at 3:1: the faster source is trimmed back to its share first, then both lose alike.
        for (var i = 0; i < 400; i++)
        {
            q.TryWrite(Flow("a", i));
            if (i % 3 == 0) q.TryWrite(Flow("b", i));
        }
        var left = Drain(q);
        var (a, b) = (left.Count(f => f.Origin == "a"), left.Count(f => f.Origin == "b"));
        Assert.Equal(100, a + b);
        Assert.InRange(a, 50, 51);
        Assert.InRange(b, 49, 50);
        var shedBy = q.ShedBySource();
        Assert.Equal(400 - a, shedBy["a"]);
        Assert.Equal(134 - b, shedBy["b"]);
    }

    [Fact]
    public void Read_IsInArrivalOrderAcrossSources()
    {
        var q = new FairIntakeQueue(1000, _ => { });
        var written = new List<FlowRecord>();
        for (var i = 0; i < 300; i++)
        {
            var f = Flow((i * 7 % 3) switch { 0 => "a", 1 => "b", _ => "" }, i);
            written.Add(f);
            q.TryWrite(f);
        }
        Assert.Equal(written, Drain(q));
    }

    [Fact]
    public async Task Reader_WaitsForAWrite_AndSeesTheEndAfterComplete()
    {
        var q = new FairIntakeQueue(10, _ => { });
        var waiting = q.WaitToReadAsync(CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        q.TryWrite(Flow("a", 1));
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(q.TryRead(out _));
        q.Complete();
        Assert.False(await q.WaitToReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(q.TryWrite(Flow("a", 2)));
    }

    [Fact]
    public async Task Intake_CountsSheddingPerSource_InItsMetric()
    {
        var registry = PromMetrics.NewCustomRegistry();
        using var pipeline = new FlowPipeline([], PromMetrics.WithCustomRegistry(registry));
        var intake = new FlowIntake(pipeline, capacity: 20);
        for (var i = 0; i < 5; i++) intake.Write(Flow("relay-eu", 1_000_000_000L * (i + 1)));
        for (var i = 0; i < 100; i++) intake.Write(Flow("relay-us", 1_000_000_000L * (i + 10)));
        intake.Complete();
        await intake.PumpAsync(live: false, CancellationToken.None);

        Assert.Equal(85, intake.Shed);
        Assert.Equal(20, pipeline.Stats.Flows);
        Assert.Equal(85, MetricText.Value(registry, "flowwatch_intake_shed_total", ("source", "relay-us")));
        Assert.Null(MetricText.Value(registry, "flowwatch_intake_shed_total", ("source", "relay-eu")));
        Assert.Equal(85, MetricText.Value(registry, "flowwatch_shed_total", ("queue", "intake")));
    }
}
