using System.Buffers;
using System.Collections;

namespace FlowWatch.Store;

/// <summary>A page's flows kept as copies of their compact entries and resolved to <see cref="StoredFlow"/> each time one is read.</summary>
/// <remarks>
/// An answer can take seconds to write to a slow client; held as objects (a flow, two sides, a uuid string: about
/// 400 bytes) its flows outlive the young generation and pile up in the old one between full collections. As copies
/// in one pooled array they cost 112 bytes each and nothing is promoted; a flow read is garbage the moment it is
/// written out. Names are resolved through the store's tables, whose ids never change meaning.
/// <see cref="Dispose"/> returns the array to the pool; after it the list is empty.
/// </remarks>
internal sealed class StoredFlowList : IReadOnlyList<StoredFlow>, IDisposable
{
    private readonly FlowStore _store;
    private (long Seq, CompactFlow Entry)[] _items;
    private int _count;

    public StoredFlowList(FlowStore store, int capacity)
    {
        _store = store;
        _items = capacity == 0 ? [] : ArrayPool<(long, CompactFlow)>.Shared.Rent(capacity);
    }

    public int Count => _count;

    public StoredFlow this[int index] =>
        (uint)index < (uint)_count ? _store.Materialize(_items[index].Seq, in _items[index].Entry) : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>Sequence number of the flow at <paramref name="index"/>, without resolving it.</summary>
    public long SeqAt(int index) => (uint)index < (uint)_count ? _items[index].Seq : throw new ArgumentOutOfRangeException(nameof(index));

    public void Add(long seq, in CompactFlow entry)
    {
        _items[_count].Seq = seq;
        _items[_count].Entry = entry;
        _count++;
    }

    /// <summary>Drops the flows from <paramref name="start"/> on whose copy may have been overwritten (sequence number below <paramref name="minValid"/>).</summary>
    /// <returns>Whether any was dropped.</returns>
    public bool DropStale(int start, long minValid)
    {
        var kept = start;
        for (var i = start; i < _count; i++)
            if (_items[i].Seq >= minValid) _items[kept++] = _items[i];
        var dropped = kept < _count;
        _count = kept;
        return dropped;
    }

    public IEnumerator<StoredFlow> GetEnumerator()
    {
        for (var i = 0; i < _count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        var items = _items;
        _items = [];
        _count = 0;
        if (items.Length > 0) ArrayPool<(long, CompactFlow)>.Shared.Return(items);
    }
}
