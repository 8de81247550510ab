using FlowWatch.Flows;

namespace FlowWatch.Pipeline;

/// <summary>The intake's bounded queue, fair between flow sources: when it is full, the source holding the most queued
/// flows loses its oldest one, so one flooding source cannot push out another's flows. Read in arrival order.</summary>
/// <remarks>
/// Longest-queue drop: with every source under its fair share (capacity / sources with flows queued) nothing of theirs
/// is shed, and the source over it pays for its own excess. Reading stays first in, first out across sources (each
/// queued flow carries an arrival number; the reader takes the smallest head), because serving sources in turn would
/// reorder flows the pipeline gets in event time and make the backlog of a fast source late for no gain: a single
/// reader drains everything anyway. Sources are told apart by <see cref="FlowRecord.Origin"/>; past
/// <see cref="MaxSources"/> distinct ones, the rest share one queue. One lock: writers are a few stream loops, the reader
/// one pump.
/// </remarks>
public sealed class FairIntakeQueue
{
    /// <summary>Distinct sources kept apart; more share the last queue.</summary>
    public const int MaxSources = 64;

    private sealed class SourceQueue(string name)
    {
        public readonly string Name = name;
        public readonly Queue<(long Seq, FlowRecord Flow)> Items = new();
        public long Shed;
    }

    private readonly object _gate = new();
    private readonly int _capacity;
    private readonly Dictionary<string, SourceQueue> _bySource = new(StringComparer.Ordinal);
    private readonly List<SourceQueue> _queues = [];
    private readonly Action<string> _onShed;
    private TaskCompletionSource<bool>? _waiter;
    private long _seq;
    private int _count;
    private bool _completed;

    /// <param name="onShed">Called (under the queue's lock, so keep it cheap) with the source whose flow was shed.</param>
    public FairIntakeQueue(int capacity, Action<string> onShed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _onShed = onShed;
    }

    public int Capacity => _capacity;

    public int Count { get { lock (_gate) return _count; } }

    /// <summary>Queues a flow; sheds the oldest flow of the longest source queue when full. False once completed.</summary>
    public bool TryWrite(FlowRecord flow)
    {
        TaskCompletionSource<bool>? wake;
        lock (_gate)
        {
            if (_completed) return false;
            var queue = QueueOf(flow.Origin);
            if (_count == _capacity)
            {
                var longest = queue;
                foreach (var q in _queues)
                    if (q.Items.Count > longest.Items.Count) longest = q;
                longest.Items.Dequeue();
                longest.Shed++;
                _count--;
                _onShed(longest.Name);
            }
            queue.Items.Enqueue((_seq++, flow));
            _count++;
            wake = _waiter;
            _waiter = null;
        }
        wake?.TrySetResult(true);
        return true;
    }

    /// <summary>Takes the flow that arrived first, whichever source sent it.</summary>
    public bool TryRead(out FlowRecord? flow)
    {
        lock (_gate)
        {
            SourceQueue? first = null;
            foreach (var q in _queues)
                if (q.Items.Count > 0 && (first is null || q.Items.Peek().Seq < first.Items.Peek().Seq)) first = q;
            if (first is null) { flow = null; return false; }
            flow = first.Items.Dequeue().Flow;
            _count--;
            return true;
        }
    }

    /// <summary>True when a flow can be read; false when the queue is completed and empty.</summary>
    public async ValueTask<bool> WaitToReadAsync(CancellationToken ct)
    {
        Task<bool> wait;
        lock (_gate)
        {
            if (_count > 0) return true;
            if (_completed) return false;
            wait = (_waiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
        return await wait.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>No more writes; a waiting reader wakes and sees the end once the queue is empty.</summary>
    public void Complete()
    {
        TaskCompletionSource<bool>? wake;
        lock (_gate)
        {
            _completed = true;
            wake = _waiter;
            _waiter = null;
        }
        // The reader re-checks under the lock: true only means "look again".
        wake?.TrySetResult(true);
    }

    /// <summary>Flows shed so far, by source ("" for flows that came from no Hubble source).</summary>
    public IReadOnlyDictionary<string, long> ShedBySource()
    {
        lock (_gate) return _queues.Where(q => q.Shed > 0).ToDictionary(q => q.Name, q => q.Shed, StringComparer.Ordinal);
    }

    private SourceQueue QueueOf(string origin)
    {
        if (_bySource.TryGetValue(origin, out var q)) return q;
        if (_queues.Count == MaxSources) return _queues[^1];
        q = new SourceQueue(origin);
        _bySource[origin] = q;
        _queues.Add(q);
        return q;
    }
}
