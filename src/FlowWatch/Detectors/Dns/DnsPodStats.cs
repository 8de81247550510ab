using FlowWatch.Detectors.Common;
using FlowWatch.Flows;

namespace FlowWatch.Detectors.Dns;

/// <summary>Per-pod DNS counts over a recent window, kept for the pod report; bounded and thread-safe.</summary>
/// <remarks>
/// Each pod holds a ring of <see cref="Buckets"/> time buckets of counters (requests, answers by rcode,
/// drops by reason); a bucket is cleared when the ring comes round to it, so updates are O(1) and a read
/// sums at most the ring. The pipeline thread writes and API threads read, under one lock.
/// </remarks>
internal sealed class DnsPodStats
{
    public const int Buckets = 5;
    private const int Width = 1 + DnsRcodes.Count + DnsDropReason.Count;
    private const int AnswerBase = 1;
    private const int DropBase = 1 + DnsRcodes.Count;

    private sealed class PodCounts
    {
        public readonly long[] BucketIds = new long[Buckets];
        public readonly int[] Counts = new int[Buckets * Width];
        public long LastSeenTicks;
    }

    private readonly record struct PodKey(string Namespace, string Pod);

    private readonly object _gate = new();
    private readonly BoundedLru<PodKey, PodCounts> _pods;
    private readonly long _bucketTicks;
    private readonly TimeSpan _window;
    private long _nowTicks;

    public DnsPodStats(TimeSpan window, int capacity)
    {
        _window = window;
        _bucketTicks = Math.Max(1, window.Ticks / Buckets);
        _pods = new BoundedLru<PodKey, PodCounts>(capacity);
    }

    public long Evicted
    {
        get { lock (_gate) return _pods.Evicted; }
    }

    public int Count
    {
        get { lock (_gate) return _pods.Count; }
    }

    public bool CountRequest(FlowEndpoint pod, long ticks) => Add(pod, ticks, 0);

    public bool CountAnswer(FlowEndpoint pod, long ticks, int rcodeSlot) => Add(pod, ticks, AnswerBase + rcodeSlot);

    public bool CountDrop(FlowEndpoint pod, long ticks, int reason) => Add(pod, ticks, DropBase + reason);

    /// <summary>Adds one to a counter; returns true when another pod had to be evicted to make room.</summary>
    private bool Add(FlowEndpoint pod, long ticks, int index)
    {
        if (!pod.IsPod) return false;
        var evicted = false;
        lock (_gate)
        {
            if (ticks > _nowTicks) _nowTicks = ticks;
            var key = new PodKey(pod.Namespace, pod.Pod);
            var before = _pods.Evicted;
            var c = _pods.GetOrAdd(key, static _ => new PodCounts());
            evicted = _pods.Evicted != before;
            c.LastSeenTicks = ticks;
            var bucket = ticks / _bucketTicks;
            var slot = (int)(bucket % Buckets);
            if (c.BucketIds[slot] != bucket)
            {
                c.BucketIds[slot] = bucket;
                Array.Clear(c.Counts, slot * Width, Width);
            }
            c.Counts[slot * Width + index]++;
        }
        return evicted;
    }

    /// <summary>Forgets pods with no DNS activity for a whole window.</summary>
    public void Expire(long nowTicks)
    {
        lock (_gate)
        {
            if (nowTicks > _nowTicks) _nowTicks = nowTicks;
            var cutoff = nowTicks - _window.Ticks;
            _pods.RemoveOldestWhile((_, c) => c.LastSeenTicks < cutoff);
        }
    }

    public bool Knows(string ns, string pod)
    {
        lock (_gate) return _pods.ContainsKey(new PodKey(ns, pod));
    }

    public DnsPodReport? Describe(string ns, string pod)
    {
        lock (_gate)
        {
            if (!_pods.TryPeek(new PodKey(ns, pod), out var c)) return null;
            var current = _nowTicks / _bucketTicks;
            var sums = new long[Width];
            for (var slot = 0; slot < Buckets; slot++)
            {
                if (c.BucketIds[slot] <= current - Buckets) continue;
                for (var i = 0; i < Width; i++) sums[i] += c.Counts[slot * Width + i];
            }
            var answers = new Dictionary<string, long>(StringComparer.Ordinal);
            for (var i = 0; i < DnsRcodes.Count; i++)
                if (sums[AnswerBase + i] != 0) answers[DnsRcodes.Names[i]] = sums[AnswerBase + i];
            var drops = new Dictionary<string, long>(StringComparer.Ordinal);
            for (var i = 0; i < DnsDropReason.Count; i++)
                if (sums[DropBase + i] != 0) drops[DnsDropReason.Names[i]] = sums[DropBase + i];
            return new DnsPodReport(_window.TotalSeconds, sums[0], answers, drops,
                new DateTimeOffset(c.LastSeenTicks, TimeSpan.Zero));
        }
    }
}
