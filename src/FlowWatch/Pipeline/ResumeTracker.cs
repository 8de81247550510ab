using System.Collections.Concurrent;
using FlowWatch.Flows;

namespace FlowWatch.Pipeline;

/// <summary>Remembers, per flow source, the newest flow time processed and the ids of the flows at that time, for the checkpoint.</summary>
/// <remarks>A sink, so it sees exactly what the pipeline processed: flows still queued or shed are not counted as done.
/// Sources are told apart by <see cref="FlowRecord.Origin"/>. The id list is bounded; past the bound a resumed stream may
/// count a few same-nanosecond flows twice.</remarks>
public sealed class ResumeTracker : IFlowSink
{
    private const int MaxIds = 1024;

    /// <summary>Most sources tracked; flows of further origins are folded into the last one's point (never more memory).</summary>
    public const int MaxSources = 64;

    private readonly ConcurrentDictionary<string, Point> _points = new(StringComparer.Ordinal);
    // Add runs on the pipeline thread only: the last origin's point is kept so a flow costs no dictionary lookup.
    private string? _lastOrigin;
    private Point? _lastPoint;

    private sealed class Point
    {
        public readonly Lock Gate = new();
        // Canonical ids stay 16 bytes and are formatted only for a snapshot: formatting each flow's would cost a string per flow.
        public readonly List<Uuid128> Ids = [];
        public readonly List<string> TextIds = [];
        public long Newest;
        public int Count => Ids.Count + TextIds.Count;

        public void Clear()
        {
            Ids.Clear();
            TextIds.Clear();
        }

        public string[] Snapshot()
        {
            var all = new string[Count];
            for (var i = 0; i < Ids.Count; i++) all[i] = Ids[i].ToString();
            TextIds.CopyTo(all, Ids.Count);
            return all;
        }
    }

    /// <summary>Keeps times and ids, never the record.</summary>
    public bool KeepsRecords => false;

    public void Add(FlowRecord flow)
    {
        var origin = flow.Origin;
        var point = ReferenceEquals(origin, _lastOrigin) ? _lastPoint! : PointOf(origin);
        var t = flow.TimeNanos;
        if (t < Volatile.Read(ref point.Newest)) return;
        lock (point.Gate)
        {
            if (t > point.Newest) { point.Newest = t; point.Clear(); }
            if (flow.HasUuid && point.Count < MaxIds)
            {
                if (flow.CanonicalUuid is { Present: true } bits) point.Ids.Add(bits);
                else point.TextIds.Add(flow.Uuid);
            }
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

    /// <summary>Newest processed event time of any source (Unix ns, 0 before the first flow) and the ids seen at it.</summary>
    public (long NewestNanos, IReadOnlyList<string> Ids) Snapshot()
    {
        (long, IReadOnlyList<string>) best = (0, []);
        foreach (var origin in _points.Keys)
            if (Snapshot(origin) is var s && s.NewestNanos > best.Item1) best = s;
        return best;
    }

    /// <summary>Newest processed event time of the flows from <paramref name="origin"/> (0 before the first) and the ids seen at it.</summary>
    public (long NewestNanos, IReadOnlyList<string> Ids) Snapshot(string origin)
    {
        if (!_points.TryGetValue(origin, out var point)) return (0, []);
        lock (point.Gate) return (point.Newest, point.Snapshot());
    }

    /// <summary>The origins seen so far.</summary>
    public IReadOnlyCollection<string> Origins => _points.Keys.ToList();
}
