using System.Reactive.Linq;
using FlowWatch.Detectors;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Pipeline;
using FlowWatch.Tests.Detectors.Dns;

namespace FlowWatch.Tests.Detectors.Registry;

/// <summary>A detector that throws is counted and logged; the pipeline and the other detectors carry on.</summary>
public sealed class DetectorIsolationTests
{
    private sealed class Throwing(string name, Func<long, bool> throwOn, bool inTimer = false, bool inAttach = false) : IDetector
    {
        public long Seen;
        public long Ticks;
        public string Name => name;

        public IObservable<Finding> Attach(DetectorContext context)
        {
            if (inAttach) throw new InvalidOperationException("attach failed");
            context.Flows.Subscribe(_ =>
            {
                Seen++;
                if (!inTimer && throwOn(Seen)) throw new InvalidOperationException("boom " + Seen);
            });
            Observable.Interval(TimeSpan.FromSeconds(1), context.Scheduler).Subscribe(_ =>
            {
                Ticks++;
                if (inTimer && throwOn(Ticks)) throw new InvalidOperationException("tick " + Ticks);
            });
            return Observable.Never<Finding>();
        }

        public void Dispose() { }
    }

    private static FlowRecord Flow(int i) => new() { TimeNanos = FlowRecord.ToNanos(Simulation.SimFlows.Start.AddMilliseconds(100 * i)) };

    [Fact]
    public void ADetectorThrowingOnFlowsAndTimers_IsCounted_AndTheOthersSeeEveryFlowAndTick()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var onFlows = new Throwing("flaky-flows", n => n % 2 == 0);
        var onTimer = new Throwing("flaky-timer", n => n % 3 == 0, inTimer: true);
        var onAttach = new Throwing("broken", _ => false, inAttach: true);
        var healthy = new Throwing("healthy", _ => false);
        var log = new FlowWatch.Tests.Kube.ListLogger();
        using var pipeline = new FlowPipeline([onFlows, onTimer, onAttach, healthy], Prometheus.Metrics.WithCustomRegistry(registry)) { DetectorLog = log };
        for (var i = 0; i < 100; i++) pipeline.Process(Flow(i));

        Assert.Equal(100, onFlows.Seen);
        Assert.Equal(100, healthy.Seen);
        Assert.Equal(100, onTimer.Seen);
        Assert.True(healthy.Ticks >= 9, $"healthy detector ticked {healthy.Ticks} times");
        // Rx ends an interval whose observer threw, so the flaky timer stops at its first throw; nobody else's does.
        Assert.True(onTimer.Ticks >= 3, $"flaky timer ticked {onTimer.Ticks} times");
        Assert.Equal(50, MetricText.Value(registry, "flowwatch_detector_errors_total", ("detector", "flaky-flows")));
        Assert.True(MetricText.Value(registry, "flowwatch_detector_errors_total", ("detector", "flaky-timer")) >= 1);
        Assert.Equal(1, MetricText.Value(registry, "flowwatch_detector_errors_total", ("detector", "broken")));
        Assert.Equal(0, MetricText.Value(registry, "flowwatch_detector_errors_total", ("detector", "healthy")));
        Assert.Contains(log.Lines, l => l.Contains("flaky-flows", StringComparison.Ordinal));
        Assert.True(log.Lines.Count(l => l.Contains("flaky-flows", StringComparison.Ordinal)) <= 10, "errors past the first ten are counted, not all logged");
    }
}
