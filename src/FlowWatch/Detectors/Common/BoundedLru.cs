namespace FlowWatch.Detectors.Common;

/// <summary>A map with a bound: reading or writing a key makes it the most recent; past the bound the least recent leaves.</summary>
/// <remarks>
/// A dictionary of linked-list nodes, so get, set, touch and evict are O(1). Evictions are counted and, when an
/// <c>onEvict</c> callback is given, handed to it (to remove metric children, say). Not thread-safe: detectors use it
/// on the pipeline thread or under their own lock.
/// </remarks>
public sealed class BoundedLru<TKey, TValue> where TKey : notnull
{
    private readonly Dictionary<TKey, LinkedListNode<(TKey Key, TValue Value)>> _map;
    private readonly LinkedList<(TKey Key, TValue Value)> _order = new();
    private readonly Action<TKey, TValue>? _onEvict;

    public BoundedLru(int capacity, Action<TKey, TValue>? onEvict = null, IEqualityComparer<TKey>? comparer = null)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "capacity must be at least 1");
        Capacity = capacity;
        _onEvict = onEvict;
        _map = new Dictionary<TKey, LinkedListNode<(TKey, TValue)>>(Math.Min(capacity, 1024), comparer);
    }

    public int Capacity { get; }
    public int Count => _map.Count;
    /// <summary>Entries pushed out by the bound since creation.</summary>
    public long Evicted { get; private set; }

    /// <summary>The value and makes the key the most recent.</summary>
    public bool TryGet(TKey key, out TValue value)
    {
        if (_map.TryGetValue(key, out var node))
        {
            Touch(node);
            value = node.Value.Value;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>The value without changing the order.</summary>
    public bool TryPeek(TKey key, out TValue value)
    {
        if (_map.TryGetValue(key, out var node)) { value = node.Value.Value; return true; }
        value = default!;
        return false;
    }

    /// <summary>Sets the value (most recent), evicting the least recent entry when the bound is reached.</summary>
    public void Set(TKey key, TValue value)
    {
        if (_map.TryGetValue(key, out var node))
        {
            node.Value = (key, value);
            Touch(node);
            return;
        }
        if (_map.Count >= Capacity) EvictOldest();
        _map[key] = _order.AddLast((key, value));
    }

    /// <summary>The value for the key, created by <paramref name="create"/> (and possibly evicting) when absent.</summary>
    public TValue GetOrAdd(TKey key, Func<TKey, TValue> create)
    {
        if (TryGet(key, out var value)) return value;
        value = create(key);
        Set(key, value);
        return value;
    }

    public bool Remove(TKey key)
    {
        if (!_map.Remove(key, out var node)) return false;
        _order.Remove(node);
        return true;
    }

    /// <summary>The least recent entry, without changing the order (for expiry by age: the oldest goes first).</summary>
    public bool TryPeekOldest(out TKey key, out TValue value)
    {
        if (_order.First is { } first)
        {
            (key, value) = first.Value;
            return true;
        }
        key = default!;
        value = default!;
        return false;
    }

    /// <summary>Removes entries, least recent first, while <paramref name="expired"/> holds for the oldest, handing each to
    /// <paramref name="removed"/> (not counted as evicted); returns how many.</summary>
    public int RemoveOldestWhile(Func<TKey, TValue, bool> expired, Action<TKey, TValue>? removed = null)
    {
        var n = 0;
        while (_order.First is { } first && expired(first.Value.Key, first.Value.Value))
        {
            _order.RemoveFirst();
            _map.Remove(first.Value.Key);
            removed?.Invoke(first.Value.Key, first.Value.Value);
            n++;
        }
        return n;
    }

    public bool ContainsKey(TKey key) => _map.ContainsKey(key);

    /// <summary>Least recent first.</summary>
    public IEnumerable<(TKey Key, TValue Value)> Entries => _order;

    private void Touch(LinkedListNode<(TKey, TValue)> node)
    {
        if (node == _order.Last) return;
        _order.Remove(node);
        _order.AddLast(node);
    }

    private void EvictOldest()
    {
        var oldest = _order.First!;
        _order.RemoveFirst();
        _map.Remove(oldest.Value.Key);
        Evicted++;
        _onEvict?.Invoke(oldest.Value.Key, oldest.Value.Value);
    }
}
