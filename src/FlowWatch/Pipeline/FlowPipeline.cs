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
/// the detectors. Both are counted in <c>flowwatch_bad_time_total{reason}</c>. Believable flows then pass a
/// <see cref="ReorderBuffer"/> that puts lagging nodes' flows back in order (up to the allowed lateness); a flow that
/// still arrives more than the allowed lateness behind event time is counted in <c>flowwatch_late_flows_total</c> and
/// detected on all the same: a late SYN is still evidence, and dropping it silently would hide a node's lag.
/// Cluster state changes are not held back by the reorder stage (they carry no event time of their own).
/// </remarks>
public sealed class FlowPipeline : IDisposable
{
    private readonly IReadOnlyList<IDetector> _detectors;
    // An array, not an interface: foreach over IReadOnlyList<T> boxes an enumerator (40 B) per flow wherever the JIT
    // cannot see one concrete list type there, as after a replay built pipelines with [] (an array) and with a List.
    private readonly IFlowSink[] _sinks;
    private readonly IMetricFactory _metricFactory;
    private readonly Subject<FlowRecord> _flows = new();
    private readonly Subject<ClusterEvent> _cluster = new();
    private readonly Subject<Finding> _findings = new();
    private readonly List<IDisposable> _subscriptions = [];
    private readonly EventTimeOptions _time;
    private readonly long _latenessNanos;
    private readonly long _farPastNanos;
    private readonly long _futureNanos;
    private readonly ReorderBuffer _reorder;
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Origin, IReadOnlyCollection<string> Connected, IReadOnlyCollection<string> NotConnected)> _announced = new();
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
        _sinks = sinks?.ToArray() ?? [];
        _metricFactory = metrics;
        Metrics = new PipelineMetrics(metrics);
        Book = new FindingBook(metrics);
        _reorder = new ReorderBuffer(_time.AllowedLateness, _time.ReorderCapacity, Deliver);
        ReturnsRecords = _sinks.All(s => !s.KeepsRecords) && _detectors.All(d => !d.KeepsRecords);
    }

    /// <summary>Whether a pooled record goes back to its <see cref="FlowRecordPool"/> once the last sink and detector has seen
    /// it: only when every one of them declared that it keeps no record (<see cref="IFlowSink.KeepsRecords"/>,
    /// <see cref="IDetector.KeepsRecords"/>). A caller of <see cref="Process"/> must then not touch the record after the call.</summary>
    public bool ReturnsRecords { get; }

    /// <summary>The stage that puts lagging nodes' flows back in order before the detectors.</summary>
    public ReorderBuffer Reorder => _reorder;

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

    /// <summary>Event time in Unix nanoseconds (whole 100 ns ticks); 0 until started.</summary>
    public long EventTimeNanos => _nowNanos;

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

    /// <summary>Takes one flow: rejects a stamp that cannot be believed, else hands it to the reorder stage, which delivers it in order.</summary>
    public void Process(FlowRecord flow)
    {
        if (!_announced.IsEmpty) ApplyAnnounced();
        var nanos = flow.TimeNanos;
        if (_clock is null) Start(nanos != 0 && !(Live && nanos > WallNanos() + _futureNanos) ? flow.Time : DateTimeOffset.UtcNow);
        if (nanos > _nowNanos)
        {
            if (Live && nanos > WallNanos() + _futureNanos) { Reject(flow, BadTime.FarFuture); return; }
        }
        else if (nanos != 0 && _nowNanos - nanos > _farPastNanos) { Reject(flow, BadTime.FarPast); return; }
        _reorder.Add(flow);
        if (_reorder.Forced != _reportedForced || Math.Abs(_reorder.Count - _reportedBuffered) >= 64) ReportReorder();
    }

    private int _reportedBuffered;
    private long _reportedForced;

    private void ReportReorder()
    {
        _reportedBuffered = _reorder.Count;
        Metrics.ReorderBuffered.Set(_reportedBuffered);
        var forced = _reorder.Forced;
        if (forced > _reportedForced) { Metrics.ReorderForced.Inc(forced - _reportedForced); _reportedForced = forced; }
    }

    /// <summary>One flow out of the reorder stage: advances event time to it, counts it, hands it to sinks and detectors.</summary>
    private void Deliver(FlowRecord flow)
    {
        var nanos = flow.TimeNanos;
        if (nanos > _nowNanos) AdvanceClock(flow.Time);
        else if (nanos != 0 && _nowNanos - nanos > _latenessNanos)
        {
            Stats.CountLate();
            Metrics.LateFlows.Inc();
        }
        Stats.Count(flow);
        Metrics.CountFlow(flow.Verdict);
        foreach (var sink in _sinks) sink.Add(flow);
        _flows.OnNext(flow);
        // Nothing downstream holds the record now: the reorder stage has let it go and every reader has returned.
        if (ReturnsRecords) FlowRecordPool.Release(flow);
    }

    /// <summary>A flow whose time cannot be believed: stored and counted, but it neither moves event time nor reaches a detector.</summary>
    private void Reject(FlowRecord flow, BadTime reason)
    {
        Stats.CountBadTime(flow, reason);
        Metrics.CountBadTime(reason);
        foreach (var sink in _sinks) sink.Add(flow);
        if (ReturnsRecords) FlowRecordPool.Release(flow);
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
        // A node with a Cilium agent will send flows: at the start of a stream the reorder stage waits for it.
        if (change is CiliumAgentState { Deleted: false } agent) _reorder.Expect([agent.Node]);
        _cluster.OnNext(change);
    }

    /// <summary>
    /// What a Hubble source says of its nodes, as they change (a Relay's GetNodes): the reorder stage waits for a newly
    /// connected node's first flows and stops waiting for one that is no longer connected (see <see cref="ReorderBuffer.Announce"/>).
    /// Safe to call from any thread; applied on the pipeline's thread before the next flow. Bounded: past 64 pending
    /// announcements the oldest is dropped (a stuck pipeline has no use for them).
    /// </summary>
    /// <param name="origin">The flow source whose nodes these are: its flows' <see cref="FlowRecord.Origin"/>.</param>
    public void AnnounceNodes(string origin, IReadOnlyCollection<string> connected, IReadOnlyCollection<string> notConnected)
    {
        _announced.Enqueue((origin, connected, notConnected));
        while (_announced.Count > 64) _announced.TryDequeue(out _);
    }

    private void ApplyAnnounced()
    {
        while (_announced.TryDequeue(out var change)) _reorder.Announce(change.Origin, change.Connected, change.NotConnected);
    }

    /// <summary>Moves event time forward (never back): flows waiting in the reorder stage up to that time go first, in order,
    /// and detector timers fall due on the way.</summary>
    public void AdvanceTo(DateTimeOffset time)
    {
        if (_clock is null) { Start(time); return; }
        _reorder.ReleaseUpTo(ToNanos(time));
        ReportReorder();
        AdvanceClock(time);
    }

    /// <summary>Delivers every flow waiting in the reorder stage (the input ended).</summary>
    public void Flush()
    {
        _reorder.Flush();
        ReportReorder();
    }

    private void AdvanceClock(DateTimeOffset time)
    {
        if (time <= _clock!.Now) return;
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
