using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using FlowWatch.Detectors;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using FlowWatch.Metrics;
using Prometheus;

namespace FlowWatch.Pipeline;

/// <summary>The heart of FlowWatch: one stream of flow records, in event time, through sinks and detectors.</summary>
/// <remarks>
/// Not thread-safe by design: one caller (the pump, or a replay loop) feeds it, so detectors need no
/// locks on their hot path. Event time is a <see cref="HistoricalScheduler"/> that starts at the first
/// flow's time (so periodic detector work does not replay the years since 0001) and is advanced to
/// each flow's timestamp before the flow is delivered; it never goes back.
/// </remarks>
public sealed class FlowPipeline : IDisposable
{
    private readonly IReadOnlyList<IDetector> _detectors;
    private readonly IReadOnlyList<IFlowSink> _sinks;
    private readonly IMetricFactory _metricFactory;
    private readonly Subject<FlowRecord> _flows = new();
    private readonly Subject<ClusterEvent> _cluster = new();
    private readonly Subject<Finding> _findings = new();
    private readonly List<IDisposable> _subscriptions = [];
    private HistoricalScheduler? _clock;

    public FlowPipeline(IEnumerable<IDetector> detectors, IMetricFactory metrics, IEnumerable<IFlowSink>? sinks = null)
    {
        _detectors = detectors.ToList();
        _sinks = sinks?.ToList() ?? [];
        _metricFactory = metrics;
        Metrics = new PipelineMetrics(metrics);
        Book = new FindingBook(metrics);
    }

    public PipelineMetrics Metrics { get; }
    public PipelineStats Stats { get; } = new();
    public FindingBook Book { get; }
    public IReadOnlyList<IDetector> Detectors => _detectors;

    /// <summary>Where exceptions thrown by a detector are logged (they are also counted, and the others keep running).</summary>
    public Microsoft.Extensions.Logging.ILogger? DetectorLog { get; set; }

    /// <summary>Every finding as it opens, changes or resolves.</summary>
    public IObservable<Finding> Findings => _findings;

    /// <summary>Event time; null until the first flow or <see cref="Start"/>.</summary>
    public IScheduler? Clock => _clock;

    public DateTimeOffset Now => _clock?.Now ?? DateTimeOffset.MinValue;

    public bool Started => _clock is not null;

    /// <summary>Starts event time at <paramref name="at"/> and attaches the detectors. Idempotent.</summary>
    public void Start(DateTimeOffset at)
    {
        if (_clock is not null) return;
        _clock = new HistoricalScheduler(at);
        var context = new DetectorContext(_flows.AsObservable(), _cluster.AsObservable(), _clock, _metricFactory);
        foreach (var detector in _detectors)
            _subscriptions.Add(DetectorIsolation.Attach(detector, context, DetectorLog).Subscribe(OnFinding));
    }

    private void OnFinding(Finding finding)
    {
        Book.Apply(finding);
        _findings.OnNext(finding);
    }

    /// <summary>Delivers one flow: counts it, advances event time to it, hands it to sinks and detectors.</summary>
    public void Process(FlowRecord flow)
    {
        var time = flow.TimeNanos != 0 ? flow.Time : Now == DateTimeOffset.MinValue ? DateTimeOffset.UtcNow : Now;
        if (_clock is null) Start(time);
        AdvanceTo(time);
        Stats.Count(flow);
        Metrics.CountFlow(flow.Verdict);
        foreach (var sink in _sinks) sink.Add(flow);
        _flows.OnNext(flow);
    }

    /// <summary>Cluster state change, delivered in order with the flows.</summary>
    public void Apply(ClusterEvent change)
    {
        if (_clock is null) Start(DateTimeOffset.UtcNow);
        _cluster.OnNext(change);
    }

    /// <summary>Moves event time forward (never back), running any detector timers that fall due.</summary>
    public void AdvanceTo(DateTimeOffset time)
    {
        if (_clock is null) { Start(time); return; }
        if (time > _clock.Now) _clock.AdvanceTo(time);
    }

    public void AdvanceBy(TimeSpan span)
    {
        if (_clock is not null && span > TimeSpan.Zero) _clock.AdvanceBy(span);
    }

    public void Dispose()
    {
        foreach (var s in _subscriptions) s.Dispose();
        foreach (var d in _detectors) d.Dispose();
        _flows.OnCompleted();
        _findings.OnCompleted();
    }
}
