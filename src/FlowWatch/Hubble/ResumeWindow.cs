using FlowWatch.Flows;
using FlowWatch.Pipeline;

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
    // A checkpoint's processed flows (id hashes), until the resumed stream is past the last time it could resend one.
    private HashSet<ulong>? _processed;
    private long _processedUntil;

    public ResumeWindow(TimeSpan overlap, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _overlapNanos = overlap.Ticks * 100;
        _capacity = capacity;
    }

    /// <summary>Event time (ns since the epoch) of the newest flow accepted; 0 before the first.</summary>
    public long NewestNanos { get; private set; }

    /// <summary>Ids forgotten because the window held <c>capacity</c> of them (the overlap is then only partly de-duplicated).</summary>
    public long Forgotten { get; private set; }

    public int Remembered => _seen.Count;

    /// <summary>Ids of the flows a checkpoint's run processed, still being matched against the resumed stream.</summary>
    public int RememberedFromCheckpoint => _processed?.Count ?? 0;

    /// <summary>The <c>since</c> for the next request, or null when nothing was received yet (follow from now).</summary>
    public DateTimeOffset? Since => NewestNanos == 0 ? null : DateTimeOffset.UnixEpoch.AddTicks(Horizon / 100);

    // Whole 100 ns ticks, as a DateTimeOffset carries them: every id at or after the horizon is kept, so every flow
    // a resumed stream can resend is recognised.
    // While a checkpoint's flows are being matched, a reconnect goes back to the checkpoint's resume point again.
    // Not held at the oldest flow accepted: the first stream followed from "now", but a lagging node's flows delivered after
    // that are stamped up to its lag before the first one received, and a resume from the oldest would skip those not yet
    // received. Flows the Relay had delivered before the first stream began may come with them, once each (never seen).
    // Never before a checkpoint's start: flows older than that are dropped whatever comes.
    private long Horizon => Math.Max(_startAfter,
        Math.Min(_processed is null ? long.MaxValue : _startAfter, Math.Max(0, NewestNanos - _overlapNanos))) / 100 * 100;

    /// <summary>
    /// Resumes where an earlier FlowWatch stopped (its checkpoint): the first request asks for flows since
    /// <paramref name="newestNanos"/>; flows older than it, and flows at exactly that time whose id is in
    /// <paramref name="idsAtNewest"/> (or that have no id), were processed before and are dropped.
    /// </summary>
    /// <remarks>Only for a fresh window. What a checkpoint written before the resume span existed allows: a flow older than
    /// its newest that the earlier run never received (a lagging node's) is dropped too. See the overload with the span.</remarks>
    public void StartFrom(long newestNanos, IEnumerable<string> idsAtNewest) => StartFrom(new ResumePoint(newestNanos, idsAtNewest.ToList(), newestNanos, []));

    /// <summary>
    /// Resumes where an earlier FlowWatch stopped (its checkpoint): the first request asks for flows since
    /// <see cref="ResumePoint.SinceNanos"/> (the newest processed minus the allowed lateness), and a resent flow is dropped when
    /// its id is one the earlier run processed (<see cref="ResumePoint.Seen"/>, or <see cref="ResumePoint.Ids"/> at the newest).
    /// So a lagging node's flows that were still on their way are processed, once, and nothing else twice.
    /// </summary>
    /// <remarks>Only for a fresh window. Flows without an id cannot be told apart: those up to the newest processed are dropped.
    /// The processed ids are kept until the stream is past the newest processed by more than the span's length (or the
    /// overlap, if longer): no resent flow can arrive later than that behind the newest.</remarks>
    public void StartFrom(ResumePoint point)
    {
        if (NewestNanos != 0) throw new InvalidOperationException("StartFrom is only for a window that has accepted nothing yet");
        if (point.NewestNanos <= 0) return;
        var since = Math.Clamp(point.SinceNanos, 1, point.NewestNanos);
        NewestNanos = point.NewestNanos;
        _startAfter = since;
        _replayUntil = point.NewestNanos;
        foreach (var id in point.Ids)
            if (id.Length > 0 && _seen.Add(id)) _order.Enqueue((point.NewestNanos, id));
        if (point.Seen.Count > 0)
        {
            _processed = new HashSet<ulong>(point.Seen);
            _processedUntil = point.NewestNanos + Math.Max(_overlapNanos, point.NewestNanos - since);
        }
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
            if (_processed is not null && _processed.Contains(FlowIdHash.Of(flow))) return false;
            if (!_seen.Add(flow.Uuid)) return false;
            _order.Enqueue((flow.TimeNanos, flow.Uuid));
        }
        if (flow.TimeNanos > NewestNanos) NewestNanos = flow.TimeNanos;
        if (_processed is not null && NewestNanos > _processedUntil) _processed = null;
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
