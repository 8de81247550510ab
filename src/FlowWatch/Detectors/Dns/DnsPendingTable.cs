using System.Runtime.InteropServices;

namespace FlowWatch.Detectors.Dns;

/// <summary>Bounded FIFO of timed events per <see cref="DnsKey"/>, matched oldest-first and expired in time order.</summary>
/// <remarks>
/// Every added event goes on one queue in arrival (= event-time) order; a per-key slot holds how many
/// of the key's events are still queued and how many of those are unmatched. Matches consume the oldest
/// unmatched event of a key, so the unmatched ones are always the newest of the key's queued events:
/// the queue head is unmatched exactly when all of its key's queued events are. That makes add, match
/// and expiry O(1) without a per-event allocation or removal from the middle of the queue.
/// </remarks>
internal sealed class DnsPendingTable<TPayload>(int capacity)
{
    private struct Slot { public int Queued; public int Unmatched; }

    private readonly record struct Entry(DnsKey Key, long Ticks, TPayload Payload);

    private readonly Dictionary<DnsKey, Slot> _slots = new();
    private readonly Queue<Entry> _queue = new();

    /// <summary>Events added and neither matched nor expired.</summary>
    public int Unmatched { get; private set; }

    /// <summary>Unmatched events pushed out early because the queue was full.</summary>
    public long Evicted { get; private set; }

    public int Queued => _queue.Count;

    public int Keys => _slots.Count;

    /// <summary>Adds an event; returns true when an unmatched event had to be evicted to make room.</summary>
    public bool Add(in DnsKey key, long ticks, TPayload payload)
    {
        var evicted = false;
        if (_queue.Count >= capacity && Pop(out _, out _)) { Evicted++; evicted = true; }
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_slots, key, out _);
        slot.Queued++;
        slot.Unmatched++;
        Unmatched++;
        _queue.Enqueue(new Entry(key, ticks, payload));
        return evicted;
    }

    /// <summary>Consumes the oldest unmatched event of <paramref name="key"/>, if any.</summary>
    public bool TryMatch(in DnsKey key)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrNullRef(_slots, key);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot) || slot.Unmatched == 0) return false;
        slot.Unmatched--;
        Unmatched--;
        return true;
    }

    /// <summary>Removes every event at or before <paramref name="cutoffTicks"/>; calls back for the unmatched ones.</summary>
    public int Expire(long cutoffTicks, Action<DnsKey, TPayload>? onUnmatched)
    {
        var expired = 0;
        while (_queue.Count > 0 && _queue.Peek().Ticks <= cutoffTicks)
        {
            if (Pop(out var key, out var payload))
            {
                expired++;
                onUnmatched?.Invoke(key, payload);
            }
        }
        return expired;
    }

    private bool Pop(out DnsKey key, out TPayload payload)
    {
        var e = _queue.Dequeue();
        key = e.Key;
        payload = e.Payload;
        ref var slot = ref CollectionsMarshal.GetValueRefOrNullRef(_slots, e.Key);
        var unmatched = slot.Unmatched == slot.Queued;
        if (unmatched) { slot.Unmatched--; Unmatched--; }
        if (--slot.Queued == 0) _slots.Remove(e.Key);
        return unmatched;
    }
}
