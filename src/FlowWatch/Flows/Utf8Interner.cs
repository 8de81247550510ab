using System.Text;

namespace FlowWatch.Flows;

/// <summary>Interns UTF-8 byte strings straight from the wire, so a repeated name costs a hash and a compare, not an allocation.</summary>
/// <remarks>
/// An open-addressing table of (bytes, value) with a fixed number of slots, so memory stays bounded under churn of
/// names. When a probe run is full the newcomer takes one of its slots (counted in <see cref="Misses"/>): names of
/// pods long gone make room for the living, instead of every new pod being decoded afresh on each flow for ever
/// after the table first filled. Values handed out before stay valid (they are equal, just not shared).
/// Not thread-safe: one per decoding thread.
/// </remarks>
public sealed class Utf8Interner<T>(Func<ReadOnlySpan<byte>, T> create, int slots = 1 << 16) where T : class
{
    private const int MaxProbe = 8;
    private readonly byte[]?[] _keys = new byte[]?[slots];
    private readonly T?[] _values = new T?[slots];
    private readonly int _mask = slots - 1;

    /// <summary>Newcomers that found their probe run full and replaced an entry.</summary>
    public long Misses { get; private set; }

    public T Get(ReadOnlySpan<byte> bytes)
    {
        var hash = Hash(bytes);
        int slot;
        for (var probe = 0; probe < MaxProbe; probe++)
        {
            slot = (hash + probe) & _mask;
            var key = _keys[slot];
            if (key is null) return Insert(slot, bytes);
            if (key.Length == bytes.Length && bytes.SequenceEqual(key)) return _values[slot]!;
        }
        // A different victim each time (the miss count turns round the run), so no slot is pinned by a hot name.
        slot = (hash + (int)(Misses++ % MaxProbe)) & _mask;
        return Insert(slot, bytes);
    }

    private T Insert(int slot, ReadOnlySpan<byte> bytes)
    {
        var value = create(bytes);
        _keys[slot] = bytes.ToArray();
        _values[slot] = value;
        return value;
    }

    private static int Hash(ReadOnlySpan<byte> bytes)
    {
        var h = new HashCode();
        h.AddBytes(bytes);
        return h.ToHashCode() & int.MaxValue;
    }
}

/// <summary>Interned strings from UTF-8 bytes.</summary>
public sealed class Utf8StringInterner(StringPool pool, int slots = 1 << 18)
{
    private readonly Utf8Interner<string> _inner = new(b => pool.Intern(Encoding.UTF8.GetString(b)), slots);

    public string Get(ReadOnlySpan<byte> bytes) => bytes.IsEmpty ? "" : _inner.Get(bytes);

    public long Misses => _inner.Misses;
}
