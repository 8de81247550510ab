using System.Collections.Concurrent;

namespace FlowWatch.Store;

/// <summary>Interns names to small integer ids so that a stored flow holds ints, not strings.</summary>
/// <remarks>
/// Id 0 is the empty string and id 1 is "(overflow)", handed out once the table is full (and counted).
/// Append-only, one writer (the pipeline thread); readers on any thread see every id published before
/// the flow that uses it, because the count is published after the slot is filled.
/// </remarks>
internal sealed class StringTable
{
    public const int Empty = 0;
    public const int Overflow = 1;
    private const int ChunkBits = 12;
    private const int ChunkSize = 1 << ChunkBits;

    private readonly ConcurrentDictionary<string, int> _ids = new(StringComparer.Ordinal);
    // Names arrive interned by the converter, so most lookups are hits on the same string object:
    // hashing the reference is far cheaper than hashing the characters.
    private readonly Dictionary<string, int> _byReference = new(ReferenceEqualityComparer.Instance);
    // Direct-mapped by object identity, before the dictionary: most names come pooled, and a node or namespace name is
    // looked up on nearly every flow.
    private const int CacheSize = 1 << 10;
    private readonly string?[] _cachedStrings = new string?[CacheSize];
    private readonly int[] _cachedIds = new int[CacheSize];
    private readonly string[]?[] _chunks;
    private readonly int _capacity;
    private int _count;

    public StringTable(int capacity)
    {
        _capacity = capacity;
        _chunks = new string[]?[(capacity + ChunkSize - 1) / ChunkSize];
        Append("");
        Append("(overflow)");
    }

    public int Count => Volatile.Read(ref _count);
    public long Overflowed { get; private set; }

    /// <summary>Called (on the writer) for each value that found the table full.</summary>
    public Action? OnOverflow { get; init; }

    /// <summary>Writer only.</summary>
    public int Intern(string? value)
    {
        if (string.IsNullOrEmpty(value)) return Empty;
        var slot = System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(value) & (CacheSize - 1);
        if (ReferenceEquals(_cachedStrings[slot], value)) return _cachedIds[slot];
        if (_byReference.TryGetValue(value, out var id)) { Cache(slot, value, id); return id; }
        if (!_ids.TryGetValue(value, out id))
        {
            if (_count >= _capacity) { Overflowed++; OnOverflow?.Invoke(); return Overflow; }
            id = Append(value);
        }
        // Bounded: strings that are not pooled upstream would otherwise grow it without end.
        if (_byReference.Count >= _capacity) _byReference.Clear();
        _byReference[value] = id;
        Cache(slot, value, id);
        return id;
    }

    // Ids never change once given (the table only appends), so a cached id stays right for as long as it is cached.
    private void Cache(int slot, string value, int id)
    {
        _cachedStrings[slot] = value;
        _cachedIds[slot] = id;
    }

    private int Append(string value)
    {
        var id = _count;
        (_chunks[id >> ChunkBits] ??= new string[ChunkSize])[id & (ChunkSize - 1)] = value;
        _ids[value] = id;
        Volatile.Write(ref _count, id + 1);
        return id;
    }

    /// <summary>The id of a name already seen, or -1 (a query for it can match nothing). Any thread.</summary>
    public int Find(string value) => value.Length == 0 ? Empty : _ids.TryGetValue(value, out var id) ? id : -1;

    /// <summary>The name of an id; "" for an id not (yet) published. Any thread.</summary>
    public string this[int id] => (uint)id < (uint)Count ? _chunks[id >> ChunkBits]![id & (ChunkSize - 1)] : "";
}
