using System.Collections.Concurrent;
using FlowWatch.Flows;

namespace FlowWatch.Pipeline;

/// <summary>Remembers, per flow source, where a restart must resume and which flows since then were processed, for the checkpoint.</summary>
/// <remarks>
/// A sink, so it sees exactly what the pipeline processed: flows still queued, waiting in the reorder stage or shed are not
/// done. A Relay delivers a lagging node's flows up to the allowed lateness behind the newest, so when FlowWatch stops a flow
/// stamped before the newest processed may still be on its way. The resume point is therefore the newest processed minus the
/// allowed lateness, and every flow processed since then is remembered by its id (<see cref="FlowIdHash"/>): the resumed
/// stream's resends are dropped and the lagging node's flows are not (see <see cref="ResumePoint"/>). A flow the pipeline
/// refused because it is stamped far ahead of event time never moves the resume point. Sources are told apart by
/// <see cref="FlowRecord.Origin"/>. The ids kept are bounded per source (<see cref="IdCapacity"/>); past the bound the oldest are
/// forgotten and counted in <see cref="Forgotten"/>, and a restart may process those again.
/// </remarks>
public sealed class ResumeTracker : IFlowSink
{
    private const int MaxIdsAtNewest = 1024;

    /// <summary>Most sources tracked; flows of further origins are folded into the last one's point (never more memory).</summary>
    public const int MaxSources = 64;

    /// <summary>The default <see cref="IdCapacity"/>: two seconds of ids at 130k flows/s.</summary>
    public const int DefaultIdCapacity = 262_144;

    private readonly ConcurrentDictionary<string, Point> _points = new(StringComparer.Ordinal);
    private readonly long _latenessNanos;
    private readonly Func<long>? _eventTimeNanos;
    // Add runs on the pipeline thread only: the last origin's point is kept so a flow costs no dictionary lookup.
    private string? _lastOrigin;
    private Point? _lastPoint;

    /// <param name="allowedLateness">How far behind the newest a source's flows may still arrive (the pipeline's; 2 s by default).</param>
    /// <param name="eventTimeNanos">The pipeline's event time (Unix ns): a flow stamped more than a second past it was refused as bad time.</param>
    public ResumeTracker(TimeSpan? allowedLateness = null, Func<long>? eventTimeNanos = null)
    {
        var lateness = allowedLateness ?? EventTimeOptions.Default.AllowedLateness;
        ArgumentOutOfRangeException.ThrowIfNegative(lateness.Ticks, nameof(allowedLateness));
        _latenessNanos = lateness.Ticks * 100;
        _eventTimeNanos = eventTimeNanos;
    }

    /// <summary>Most ids kept per source; set before the first flow (the Hubble sources share one budget).</summary>
    public int IdCapacity { get; set; } = DefaultIdCapacity;

    /// <summary>Ids forgotten because a source's span held <see cref="IdCapacity"/> of them.</summary>
    public long Forgotten => _points.Values.Sum(p => Interlocked.Read(ref p.Forgotten));

    private sealed class Point
    {
        public readonly Lock Gate = new();
        // Canonical ids stay 16 bytes and are formatted only for a snapshot: formatting each flow's would cost a string per flow.
        public readonly List<Uuid128> IdsAtNewest = [];
        public readonly List<string> TextIdsAtNewest = [];
        public long Newest;
        public long Forgotten;
        // Processed flows' (time, id hash) in processing order, oldest first; a ring that grows up to the capacity.
        private (long Time, ulong Hash)[] _ring = new (long, ulong)[64];
        private int _head, _count;

        public void Remember(long time, ulong hash, long horizon, int capacity)
        {
            var mask = _ring.Length - 1;
            while (_count > 0 && _ring[_head].Time < horizon) { _head = (_head + 1) & mask; _count--; }
            if (_count >= capacity)
            {
                _head = (_head + 1) & mask;
                _count--;
                Interlocked.Increment(ref Forgotten);
            }
            else if (_count == _ring.Length) Grow();
            _ring[(_head + _count) & (_ring.Length - 1)] = (time, hash);
            _count++;
        }

        public ulong[] Since(long since)
        {
            var mask = _ring.Length - 1;
            var seen = new List<ulong>(_count);
            for (var i = 0; i < _count; i++)
                if (_ring[(_head + i) & mask] is var (time, hash) && time >= since) seen.Add(hash);
            return seen.ToArray();
        }

        private void Grow()
        {
            var bigger = new (long, ulong)[_ring.Length * 2];
            for (var i = 0; i < _count; i++) bigger[i] = _ring[(_head + i) & (_ring.Length - 1)];
            _ring = bigger;
            _head = 0;
        }
    }

    /// <summary>Keeps times and ids, never the record.</summary>
    public bool KeepsRecords => false;

    public void Add(FlowRecord flow)
    {
        var t = flow.TimeNanos;
        if (t == 0) return;
        if (_eventTimeNanos is { } now && t - now() > 1_000_000_000) return;
        var origin = flow.Origin;
        var point = ReferenceEquals(origin, _lastOrigin) ? _lastPoint! : PointOf(origin);
        lock (point.Gate)
        {
            if (t > point.Newest) { point.Newest = t; point.IdsAtNewest.Clear(); point.TextIdsAtNewest.Clear(); }
            if (!flow.HasUuid) return;
            if (t == point.Newest && point.IdsAtNewest.Count + point.TextIdsAtNewest.Count < MaxIdsAtNewest)
            {
                if (flow.CanonicalUuid is { Present: true } bits) point.IdsAtNewest.Add(bits);
                else point.TextIdsAtNewest.Add(flow.Uuid);
            }
            // Behind the resume point already: a resumed stream does not send it again.
            var horizon = point.Newest - _latenessNanos;
            if (t >= horizon) point.Remember(t, FlowIdHash.Of(flow), horizon, Math.Max(1, IdCapacity));
        }
    }

    private Point PointOf(string origin)
    {
        var point = _points.Count < MaxSources || _points.ContainsKey(origin)
            ? _points.GetOrAdd(origin, _ => new Point())
            : _points.Values.First();
        _lastOrigin = origin;
        _lastPoint = point;
        return point;
    }

    /// <summary>The resume point of the source whose newest processed flow is the newest of all (<see cref="ResumePoint.None"/> before the first flow).</summary>
    public ResumePoint Snapshot()
    {
        var best = ResumePoint.None;
        foreach (var origin in _points.Keys)
            if (Snapshot(origin) is var s && s.NewestNanos > best.NewestNanos) best = s;
        return best;
    }

    /// <summary>The resume point of the flows from <paramref name="origin"/> (<see cref="ResumePoint.None"/> before the first).</summary>
    public ResumePoint Snapshot(string origin)
    {
        if (!_points.TryGetValue(origin, out var point)) return ResumePoint.None;
        lock (point.Gate)
        {
            if (point.Newest == 0) return ResumePoint.None;
            // Not held at this run's oldest flow: a lagging node's flows delivered after the run began are stamped up to the
            // allowed lateness before it, and those still on their way when it stopped must be sent again.
            var since = Math.Max(1, point.Newest - _latenessNanos);
            return new ResumePoint(point.Newest, [.. point.IdsAtNewest.Select(id => id.ToString()), .. point.TextIdsAtNewest], since, point.Since(since));
        }
    }

    /// <summary>The origins seen so far.</summary>
    public IReadOnlyCollection<string> Origins => _points.Keys.ToList();
}
