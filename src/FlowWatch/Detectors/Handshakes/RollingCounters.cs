namespace FlowWatch.Detectors.Handshakes;

/// <summary>A sliding window of a few counters, kept as a ring of time buckets plus running totals.</summary>
/// <remarks>
/// The same idea as YARP's TransportFailureRateHealthPolicy: each event adds to the current bucket and to
/// the totals; when time moves past a bucket, its counts are subtracted from the totals. Adding and reading
/// are O(1) (amortised over the buckets that expire), memory is buckets × slots longs. Not thread-safe.
/// </remarks>
public sealed class RollingCounters
{
    private readonly long _bucketTicks;
    private readonly int _buckets;
    private readonly int _slots;
    private readonly long[] _counts;
    private readonly long[] _bucketIds;
    private readonly long[] _totals;
    private long _head = long.MinValue;

    public RollingCounters(TimeSpan window, TimeSpan bucket, int slots)
    {
        if (bucket <= TimeSpan.Zero || window < bucket) throw new ArgumentException("window must be at least one positive bucket");
        _bucketTicks = bucket.Ticks;
        _buckets = (int)Math.Ceiling((double)window.Ticks / bucket.Ticks);
        _slots = slots;
        _counts = new long[_buckets * slots];
        _bucketIds = new long[_buckets];
        Array.Fill(_bucketIds, long.MinValue);
        _totals = new long[slots];
    }

    public TimeSpan Window => TimeSpan.FromTicks(_bucketTicks * _buckets);

    /// <summary>Adds <paramref name="n"/> to a slot at an event time; events older than the window are ignored.</summary>
    public void Add(DateTimeOffset at, int slot, long n = 1)
    {
        var id = at.UtcTicks / _bucketTicks;
        Advance(id);
        if (id <= _head - _buckets) return;
        var pos = (int)(id % _buckets);
        if (_bucketIds[pos] != id) return;
        _counts[pos * _slots + slot] += n;
        _totals[slot] += n;
    }

    /// <summary>Expires buckets that fell out of the window at <paramref name="now"/>.</summary>
    public void AdvanceTo(DateTimeOffset now) => Advance(now.UtcTicks / _bucketTicks);

    /// <summary>The slot's count over the window, as of the last add or advance.</summary>
    public long Total(int slot) => _totals[slot];

    /// <summary>Sum of every slot in [from, to).</summary>
    public long Sum(int from, int to)
    {
        long s = 0;
        for (var i = from; i < to; i++) s += _totals[i];
        return s;
    }

    private void Advance(long id)
    {
        if (id <= _head) return;
        var steps = _head == long.MinValue ? _buckets : (int)Math.Min(id - _head, _buckets);
        for (var k = steps - 1; k >= 0; k--)
        {
            var bucketId = id - k;
            var pos = (int)(bucketId % _buckets);
            if (_bucketIds[pos] == bucketId) continue;
            var row = pos * _slots;
            for (var s = 0; s < _slots; s++)
            {
                _totals[s] -= _counts[row + s];
                _counts[row + s] = 0;
            }
            _bucketIds[pos] = bucketId;
        }
        _head = id;
    }
}
