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
/// locks on their hot path. Event time is an <see cref="EventTimeScheduler"/> that starts at the first
/// flow's time and is advanced to each flow's timestamp before the flow is delivered; it never goes back, and a
/// gap of any length costs a bounded number of timer ticks. A flow cannot drag event time anywhere its stamp is
/// not believable: when live, not past the wall clock plus <see cref="EventTimeOptions.FutureTolerance"/>; and a
/// flow older than <see cref="EventTimeOptions.FarPast"/> (a node whose clock is behind) is stored but kept from
/// the detectors. Both are counted in <c>flowwatch_bad_time_total{reason}</c>; flows merely late are counted in
/// <c>flowwatch_late_flows_total</c> and still detected on.
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
    private readonly EventTimeOptions _time;
    private readonly long _latenessNanos;
    private readonly long _farPastNanos;
    private readonly long _futureNanos;
    private EventTimeScheduler? _clock;
    private long _nowNanos;

    public FlowPipeline(IEnumerable<IDetector> detectors, IMetricFactory metrics, IEnumerable<IFlowSink>? sinks = null,
        EventTimeOptions? time = null)
    {
        _time = time ?? EventTimeOptions.Default;
        _time.Validate();
        _latenessNanos = _time.AllowedLateness.Ticks * 100;
        _farPastNanos = _time.FarPast.Ticks * 100;
        _futureNanos = _time.FutureTolerance.Ticks * 100;
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

    /// <summary>The event-time scheduler itself (jump counts); null until started.</summary>
    public EventTimeScheduler? EventClock => _clock;

    public EventTimeOptions TimeOptions => _time;

    /// <summary>Live stream: event time may not run past the wall clock plus the future tolerance.</summary>
    public bool Live { get; set; }

    public DateTimeOffset Now => _clock?.Now ?? DateTimeOffset.MinValue;

    public bool Started => _clock is not null;

    /// <summary>Starts event time at <paramref name="at"/> and attaches the detectors. Idempotent.</summary>
    public void Start(DateTimeOffset at)
    {
        if (_clock is not null) return;
        _clock = new EventTimeScheduler(at, _time.CatchUp);
        _nowNanos = ToNanos(_clock.Now);
        var context = new DetectorContext(_flows.AsObservable(), _cluster.AsObservable(), _clock, _metricFactory);
        foreach (var detector in _detectors)
            _subscriptions.Add(DetectorIsolation.Attach(detector, context, DetectorLog).Subscribe(OnFinding));
    }

    // Observers (Events, the live view, replay) see the finding as the book recorded it: with its cluster.
    private void OnFinding(Finding finding) => _findings.OnNext(Book.Apply(finding));

    /// <summary>Delivers one flow: counts it, advances event time to it, hands it to sinks and detectors.</summary>
    public void Process(FlowRecord flow)
    {
        var nanos = flow.TimeNanos;
        if (_clock is null) Start(nanos != 0 && !(Live && nanos > WallNanos() + _futureNanos) ? flow.Time : DateTimeOffset.UtcNow);
        if (nanos > _nowNanos)
        {
            if (Live && nanos > WallNanos() + _futureNanos) { Reject(flow, BadTime.FarFuture); return; }
            AdvanceTo(flow.Time);
        }
        else if (nanos != 0 && _nowNanos - nanos > _latenessNanos)
        {
            if (_nowNanos - nanos > _farPastNanos) { Reject(flow, BadTime.FarPast); return; }
            Stats.CountLate();
            Metrics.LateFlows.Inc();
        }
        Stats.Count(flow);
        Metrics.CountFlow(flow.Verdict);
        foreach (var sink in _sinks) sink.Add(flow);
        _flows.OnNext(flow);
    }

    /// <summary>A flow whose time cannot be believed: stored and counted, but it neither moves event time nor reaches a detector.</summary>
    private void Reject(FlowRecord flow, BadTime reason)
    {
        Stats.CountBadTime(flow, reason);
        Metrics.CountBadTime(reason);
        foreach (var sink in _sinks) sink.Add(flow);
    }

    /// <summary>Counts (and stores) a flow a reader judged badly stamped before it reached the pipeline.</summary>
    public void RejectBadTime(FlowRecord flow, BadTime reason)
    {
        if (_clock is null) Start(DateTimeOffset.UtcNow);
        Reject(flow, reason);
    }

    private static long WallNanos() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    private static long ToNanos(DateTimeOffset t) => (t.UtcTicks - DateTime.UnixEpoch.Ticks) * 100;

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
        if (time <= _clock.Now) return;
        _clock.AdvanceTo(time);
        _nowNanos = ToNanos(_clock.Now);
    }

    public void AdvanceBy(TimeSpan span)
    {
        if (_clock is not null && span > TimeSpan.Zero) AdvanceTo(_clock.Now + span);
    }

    public void Dispose()
    {
        foreach (var s in _subscriptions) s.Dispose();
        foreach (var d in _detectors) d.Dispose();
        _flows.OnCompleted();
        _findings.OnCompleted();
    }
}
