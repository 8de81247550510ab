using FlowWatch.Flows;
using FlowWatch.Pipeline;
using Prometheus;

namespace FlowWatch.Hosting;

/// <summary>Whether ingest keeps up, whatever the cause: event-time lag of the newest processed flow and Hubble's lost events per second.</summary>
/// <remarks>
/// A sink after the store sees every processed flow and keeps the newest event time with the wall time it was
/// processed at: the lag is the difference, so a quiet cluster (no flows for minutes) is not "behind", while a pump
/// that stops with flows queued is (its lag then grows with the wall clock). <see cref="Sample"/> (once a
/// second) turns that and the lost-event total into <c>flowwatch_event_time_lag_seconds</c>,
/// <c>flowwatch_hubble_lost_events_per_second</c> and <c>flowwatch_ingest_behind</c>. While no stream is open the lag
/// describes nothing live, so it reads NaN rather than a stale figure.
/// </remarks>
public sealed class IngestHealth : IFlowSink
{
    private readonly IngestHealthOptions _options;
    private Func<ulong> _lost = () => 0;
    private Func<bool> _streaming = () => false;
    private readonly Func<int> _queued;
    private readonly TimeProvider _time;
    private readonly Gauge _lag, _lostRate, _behind;
    private readonly Queue<(DateTimeOffset At, ulong Lost)> _lostSamples = new();
    private long _newestNanos = long.MinValue;
    private long _processedAtTicks;
    private volatile string? _reason;

    public IngestHealth(IngestHealthOptions options, Gauge lag, IMetricFactory metrics, Func<int> queued, TimeProvider? time = null)
    {
        options.Validate();
        _options = options;
        _queued = queued;
        _time = time ?? TimeProvider.System;
        _lag = lag;
        _lostRate = metrics.CreateGauge("flowwatch_hubble_lost_events_per_second",
            "Events Hubble reported lost per second, over the last lost-event window.");
        _behind = metrics.CreateGauge("flowwatch_ingest_behind",
            "1 while ingest is behind (event-time lag or Hubble's lost events over their thresholds; /readyz says which), else 0.");
        _lag.Set(double.NaN);
    }

    /// <summary>Names the stream whose lost events count and whose state says whether a lag means anything.</summary>
    public void Follow(Func<ulong> lostEvents, Func<bool> streaming)
    {
        _lost = lostEvents;
        _streaming = streaming;
    }

    /// <summary>Why ingest is behind, or null when it keeps up (a readiness check).</summary>
    public string? Reason => _reason;

    public double LagSeconds { get; private set; } = double.NaN;
    public double LostPerSecond { get; private set; }

    /// <summary>Keeps the newest time only.</summary>
    public bool KeepsRecords => false;

    public void Add(FlowRecord flow)
    {
        if (flow.TimeNanos <= _newestNanos) return;
        Volatile.Write(ref _processedAtTicks, _time.GetUtcNow().UtcTicks);
        Volatile.Write(ref _newestNanos, flow.TimeNanos);
    }

    /// <summary>Recomputes the figures and the verdict; call about once a second.</summary>
    public void Sample()
    {
        var now = _time.GetUtcNow();
        var newest = Volatile.Read(ref _newestNanos);
        var processedAt = new DateTimeOffset(Volatile.Read(ref _processedAtTicks), TimeSpan.Zero);
        var eventTime = DateTimeOffset.UnixEpoch.AddTicks(Math.Max(newest, 0) / 100);
        // With flows waiting, the newest one processed grows older by the second; without, its lag was fixed when it was processed.
        var reference = _queued() > 0 ? now : processedAt;
        LagSeconds = _streaming() && newest != long.MinValue ? Math.Max(0, (reference - eventTime).TotalSeconds) : double.NaN;
        _lag.Set(LagSeconds);

        var lost = _lost();
        _lostSamples.Enqueue((now, lost));
        while (_lostSamples.Count > 1 && now - _lostSamples.Peek().At > _options.LostWindow) _lostSamples.Dequeue();
        var (at, first) = _lostSamples.Peek();
        var seconds = (now - at).TotalSeconds;
        LostPerSecond = seconds > 0 && lost >= first ? (lost - first) / seconds : 0;
        _lostRate.Set(LostPerSecond);

        string? reason = null;
        if (LagSeconds > _options.MaxEventTimeLag.TotalSeconds)
            reason = $"ingest behind: newest processed flow is {LagSeconds:0.#}s old (more than {_options.MaxEventTimeLag.TotalSeconds:0.#}s)";
        else if (LostPerSecond > _options.MaxLostPerSecond)
            reason = $"ingest behind: Hubble loses {LostPerSecond:N0} events/s (more than {_options.MaxLostPerSecond:N0}/s)";
        _reason = reason;
        _behind.Set(reason is null ? 0 : 1);
    }

    /// <summary>Samples every second until cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false)) Sample();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }
}
