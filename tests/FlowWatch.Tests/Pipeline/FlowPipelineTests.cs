using System.Reactive.Linq;
using FlowWatch.Detectors;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Pipeline;
using PromMetrics = Prometheus.Metrics;

namespace FlowWatch.Tests.Pipeline;

public sealed class FlowPipelineTests
{
    private static readonly DateTimeOffset T0 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static FlowRecord At(DateTimeOffset t, Verdict v = Verdict.Forwarded) =>
        new() { TimeNanos = FlowRecord.ToNanos(t), Verdict = v };

    /// <summary>Records the event time each flow arrives at, and fires a timer 5 s after the first.</summary>
    private sealed class ClockProbe : IDetector
    {
        public List<DateTimeOffset> SeenAt { get; } = [];
        public List<DateTimeOffset> TimerFiredAt { get; } = [];
        public string Name => "probe";

        public IObservable<Finding> Attach(DetectorContext context)
        {
            context.Flows.Subscribe(_ => SeenAt.Add(context.Scheduler.Now));
            context.Flows.Take(1).Delay(TimeSpan.FromSeconds(5), context.Scheduler)
                .Subscribe(_ => TimerFiredAt.Add(context.Scheduler.Now));
            return Observable.Never<Finding>();
        }

        public void Dispose() { }
    }

    [Fact]
    public void EventTimeFollowsTheFlows_NeverGoesBack_TimersFireInEventTime()
    {
        var probe = new ClockProbe();
        using var pipeline = new FlowPipeline([probe], PromMetrics.WithCustomRegistry(PromMetrics.NewCustomRegistry()));

        pipeline.Process(At(T0));
        pipeline.Process(At(T0.AddSeconds(2)));
        pipeline.Process(At(T0.AddSeconds(1)));            // late flow: the clock stays at +2 s
        Assert.Empty(probe.TimerFiredAt);
        pipeline.Process(At(T0.AddSeconds(7)));

        Assert.Equal(new[] { T0, T0.AddSeconds(2), T0.AddSeconds(2), T0.AddSeconds(7) }, probe.SeenAt);
        Assert.Equal(new[] { T0.AddSeconds(5) }, probe.TimerFiredAt);
        Assert.Equal(4, pipeline.Stats.Flows);
    }

    [Fact]
    public void FlowsAreCountedByVerdictInMetrics()
    {
        var registry = PromMetrics.NewCustomRegistry();
        using var pipeline = new FlowPipeline([], PromMetrics.WithCustomRegistry(registry));
        pipeline.Process(At(T0, Verdict.Dropped));
        pipeline.Process(At(T0, Verdict.Dropped));
        pipeline.Process(At(T0, Verdict.Forwarded));

        using var stream = new MemoryStream();
        registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        Assert.Contains("flowwatch_flows_total{verdict=\"dropped\"} 2", text);
        Assert.Contains("flowwatch_flows_total{verdict=\"forwarded\"} 1", text);
    }

    [Fact]
    public async Task Intake_ShedsOldestWhenFull_AndCountsIt()
    {
        using var pipeline = new FlowPipeline([], PromMetrics.WithCustomRegistry(PromMetrics.NewCustomRegistry()));
        var intake = new FlowIntake(pipeline, capacity: 10);
        for (var i = 0; i < 25; i++) intake.Write(At(T0.AddSeconds(i)));
        intake.Complete();
        await intake.PumpAsync(live: false, CancellationToken.None);

        Assert.Equal(15, intake.Shed);
        Assert.Equal(10, pipeline.Stats.Flows);
        Assert.Equal(T0.AddSeconds(15), DateTimeOffset.UnixEpoch.AddTicks(pipeline.Stats.FirstEventNanos / 100));
    }
}
