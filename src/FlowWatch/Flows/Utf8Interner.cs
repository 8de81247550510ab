using System.Text;

namespace FlowWatch.Flows;

/// <summary>Interns UTF-8 byte strings straight from the wire, so a repeated name costs a hash and a compare, not an allocation.</summary>
/// <remarks>
/// An open-addressing table of (bytes, value) with a fixed number of slots; when a probe run is full
/// the newcomer is decoded without interning (counted in <see cref="Misses"/>), so memory stays bounded
/// under churn of names. Not thread-safe: one per decoding thread.
/// </remarks>
public sealed class Utf8Interner<T>(Func<ReadOnlySpan<byte>, T> create, int slots = 1 << 16) where T : class
{
    private const int MaxProbe = 8;
    private readonly byte[]?[] _keys = new byte[]?[slots];
    private readonly T?[] _values = new T?[slots];
    private readonly int _mask = slots - 1;

    public long Misses { get; private set; }

    public T Get(ReadOnlySpan<byte> bytes)
    {
        var hash = Hash(bytes);
        for (var probe = 0; probe < MaxProbe; probe++)
        {
            var slot = (hash + probe) & _mask;
            var key = _keys[slot];
            if (key is null)
            {
                var value = create(bytes);
                _keys[slot] = bytes.ToArray();
                _values[slot] = value;
                return value;
            }
            if (bytes.SequenceEqual(key)) return _values[slot]!;
        }
        Misses++;
        return create(bytes);
    }

    private static int Hash(ReadOnlySpan<byte> bytes)
    {
        var h = new HashCode();
        h.AddBytes(bytes);
        return h.ToHashCode() & int.MaxValue;
    }
}

/// <summary>Interned strings from UTF-8 bytes.</summary>
public sealed class Utf8StringInterner(StringPool pool, int slots = 1 << 16)
{
    private readonly Utf8Interner<string> _inner = new(b => pool.Intern(Encoding.UTF8.GetString(b)), slots);

    public string Get(ReadOnlySpan<byte> bytes) => bytes.IsEmpty ? "" : _inner.Get(bytes);

    public long Misses => _inner.Misses;
}
