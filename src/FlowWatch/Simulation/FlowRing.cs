using FlowWatch.Hubble.Proto.Observer;

namespace FlowWatch.Simulation;

/// <summary>A bounded ring of recent <see cref="GetFlowsResponse"/>s, like Hubble's: the oldest are overwritten and counted.</summary>
/// <remarks>
/// Every entry has a sequence number (0, 1, ...); readers keep their own cursor, so a reader that falls more than
/// <see cref="Capacity"/> behind learns exactly how many entries it missed. One writer appends batches; readers copy
/// out under the lock and write to their streams outside it.
/// </remarks>
public sealed class FlowRing
{
    private readonly Entry[] _entries;
    private readonly Dictionary<string, int> _nodeIndex;
    private readonly long[] _nodeCount;
    private readonly long[] _nodeSeen;
    private readonly Lock _lock = new();
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _next;

    /// <summary>One buffered response with its sequence number, event time (ns) and node (-1 when unknown).</summary>
    public readonly record struct Entry(long Seq, long TimeNanos, int Node, GetFlowsResponse Message);

    public FlowRing(int capacity, IReadOnlyList<string> nodeNames)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _entries = new Entry[capacity];
        _nodeIndex = nodeNames.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => x.i, StringComparer.Ordinal);
        _nodeCount = new long[nodeNames.Count];
        _nodeSeen = new long[nodeNames.Count];
    }

    public int Capacity => _entries.Length;

    /// <summary>Sequence number the next append gets; also how many entries were ever appended.</summary>
    public long Next { get { lock (_lock) return _next; } }

    /// <summary>Sequence number of the oldest entry still held.</summary>
    public long Oldest { get { lock (_lock) return Math.Max(0, _next - _entries.Length); } }

    public int Count { get { lock (_lock) return (int)Math.Min(_next, _entries.Length); } }

    /// <summary>Entries overwritten before every reader could have seen them (all appends beyond the capacity).</summary>
    public long Overwritten { get { lock (_lock) return Math.Max(0, _next - _entries.Length); } }

    /// <summary>(held, ever appended) for one node; zeros for a node the ring does not know.</summary>
    public (long Held, long Seen) NodeCounts(string node)
    {
        lock (_lock)
            return _nodeIndex.TryGetValue(node, out var i) ? (_nodeCount[i], _nodeSeen[i]) : (0, 0);
    }

    public void Append(IReadOnlyList<GetFlowsResponse> batch)
    {
        if (batch.Count == 0) return;
        TaskCompletionSource appended;
        lock (_lock)
        {
            foreach (var message in batch)
            {
                var slot = (int)(_next % _entries.Length);
                if (_next >= _entries.Length && _entries[slot].Node >= 0) _nodeCount[_entries[slot].Node]--;
                var node = _nodeIndex.GetValueOrDefault(message.NodeName, -1);
                var time = message.Time is { } t ? t.Seconds * 1_000_000_000L + t.Nanos : 0;
                _entries[slot] = new Entry(_next, time, node, message);
                if (node >= 0) { _nodeCount[node]++; _nodeSeen[node]++; }
                _next++;
            }
            appended = _appended;
            _appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        appended.SetResult();
    }

    /// <summary>
    /// Copies up to <paramref name="max"/> entries starting at sequence <paramref name="from"/> into <paramref name="into"/>.
    /// Returns the number of entries that were already overwritten (the reader's loss) and the cursor to read on from.
    /// </summary>
    public (long Lost, long Cursor) Read(long from, List<Entry> into, int max)
    {
        lock (_lock)
        {
            var oldest = Math.Max(0, _next - _entries.Length);
            var lost = from < oldest ? oldest - from : 0;
            var seq = Math.Max(from, oldest);
            for (var n = 0; seq < _next && n < max; seq++, n++)
                into.Add(_entries[(int)(seq % _entries.Length)]);
            return (lost, seq);
        }
    }

    /// <summary>Completes once an entry with sequence number <paramref name="seq"/> or later exists.</summary>
    public async Task WaitForAsync(long seq, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task appended;
            lock (_lock)
            {
                if (_next > seq) return;
                appended = _appended.Task;
            }
            await appended.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
