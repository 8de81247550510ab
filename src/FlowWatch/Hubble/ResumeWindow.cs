using FlowWatch.Flows;

namespace FlowWatch.Hubble;

/// <summary>Where to resume a broken GetFlows stream, and which of the resent flows were already handed on.</summary>
/// <remarks>
/// Keeps the ids of the flows of the last <c>overlap</c> of event time (bounded by <c>capacity</c>, oldest
/// forgotten first). A reconnect asks for flows since the newest flow's time minus the overlap; every resent flow
/// whose id is remembered is a duplicate, whatever its time, so flows sharing one timestamp are told apart and
/// flows a slower node delivered out of order are neither lost nor doubled. Flows without an id (Hubble before
/// 1.12) cannot be told apart: after a reconnect those no newer than the newest flow already handed on are dropped.
/// </remarks>
public sealed class ResumeWindow
{
    private readonly long _overlapNanos;
    private readonly int _capacity;
    private readonly Queue<(long TimeNanos, string Uuid)> _order = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private long _replayUntil = long.MinValue;
    private long _startAfter = long.MinValue;

    public ResumeWindow(TimeSpan overlap, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _overlapNanos = overlap.Ticks * 100;
        _capacity = capacity;
    }

    /// <summary>Event time (ns since the epoch) of the newest flow accepted; 0 before the first.</summary>
    public long NewestNanos { get; private set; }

    /// <summary>Event time of the oldest flow accepted: resuming never reaches before it, since the first stream followed from "now".</summary>
    public long OldestNanos { get; private set; } = long.MaxValue;

    /// <summary>Ids forgotten because the window held <c>capacity</c> of them (the overlap is then only partly de-duplicated).</summary>
    public long Forgotten { get; private set; }

    public int Remembered => _seen.Count;

    /// <summary>The <c>since</c> for the next request, or null when nothing was received yet (follow from now).</summary>
    public DateTimeOffset? Since => NewestNanos == 0 ? null : DateTimeOffset.UnixEpoch.AddTicks(Horizon / 100);

    // Whole 100 ns ticks, as a DateTimeOffset carries them: every id at or after the horizon is kept, so every flow
    // a resumed stream can resend is recognised.
    private long Horizon => Math.Max(Math.Min(OldestNanos, NewestNanos), Math.Max(0, NewestNanos - _overlapNanos)) / 100 * 100;

    /// <summary>
    /// Resumes where an earlier FlowWatch stopped (its checkpoint): the first request asks for flows since
    /// <paramref name="newestNanos"/>; flows older than it, and flows at exactly that time whose id is in
    /// <paramref name="idsAtNewest"/> (or that have no id), were processed before and are dropped.
    /// </summary>
    /// <remarks>Only for a fresh window. A flow older than the checkpoint that the earlier run never received (a slower
    /// node's, merged late by Relay) is dropped too: the checkpoint keeps a time, not every id of the overlap.</remarks>
    public void StartFrom(long newestNanos, IEnumerable<string> idsAtNewest)
    {
        if (NewestNanos != 0) throw new InvalidOperationException("StartFrom is only for a window that has accepted nothing yet");
        if (newestNanos <= 0) return;
        NewestNanos = OldestNanos = newestNanos;
        _startAfter = newestNanos;
        _replayUntil = newestNanos;
        foreach (var id in idsAtNewest)
            if (id.Length > 0 && _seen.Add(id)) _order.Enqueue((newestNanos, id));
    }

    /// <summary>Marks a reconnect: from now on flows without an id up to the newest one seen are treated as resent.</summary>
    public void Reconnecting() => _replayUntil = NewestNanos;

    /// <summary>True when the flow is new and should be handed on; false for a duplicate from the overlap.</summary>
    public bool Accept(FlowRecord flow)
    {
        if (flow.TimeNanos < _startAfter) return false;
        if (flow.Uuid.Length == 0)
        {
            if (flow.TimeNanos <= _replayUntil) return false;
        }
        else
        {
            if (!_seen.Add(flow.Uuid)) return false;
            _order.Enqueue((flow.TimeNanos, flow.Uuid));
        }
        if (flow.TimeNanos > NewestNanos) NewestNanos = flow.TimeNanos;
        if (flow.TimeNanos < OldestNanos) OldestNanos = flow.TimeNanos;
        Trim();
        return true;
    }

    private void Trim()
    {
        var horizon = Horizon;
        while (_order.Count > 0)
        {
            var (time, uuid) = _order.Peek();
            var full = _order.Count > _capacity;
            if (!full && time >= horizon) break;
            _order.Dequeue();
            _seen.Remove(uuid);
            if (full) Forgotten++;
        }
    }
}
