using FlowWatch.Flows;

namespace FlowWatch.Store;

/// <summary>Interns endpoint label sets to small ids, so that an endpoint entry holds one int for all its labels.</summary>
/// <remarks>
/// Id 0 is the empty set and id 1 "(overflow)": a set that arrives once the table is full gets id 1 and is counted;
/// a label selector never matches it (its labels are not known). Append-only, one writer, readers on any thread (as
/// <see cref="StringTable"/>): an id is published before the endpoint entry that uses it.
/// </remarks>
internal sealed class LabelSetTable
{
    public const int Empty = 0;
    public const int Overflow = 1;
    private const int ChunkBits = 10;
    private const int ChunkSize = 1 << ChunkBits;

    private readonly Dictionary<EndpointLabels, int> _ids = new();
    private readonly EndpointLabels[]?[] _chunks;
    private readonly int _capacity;
    private int _count;

    public LabelSetTable(int capacity)
    {
        _capacity = capacity;
        _chunks = new EndpointLabels[]?[(capacity + ChunkSize - 1) / ChunkSize];
        Append(EndpointLabels.Empty);
        Append(EndpointLabels.Empty);   // overflow: no labels known
    }

    public int Count => Volatile.Read(ref _count);
    public long Overflowed { get; private set; }

    /// <summary>Called (on the writer) for each value that found the table full.</summary>
    public Action? OnOverflow { get; init; }

    /// <summary>Writer only.</summary>
    public int Intern(EndpointLabels labels)
    {
        if (labels.IsEmpty) return Empty;
        if (_ids.TryGetValue(labels, out var id)) return id;
        if (_count >= _capacity) { Overflowed++; OnOverflow?.Invoke(); return Overflow; }
        return Append(labels);
    }

    private int Append(EndpointLabels labels)
    {
        var id = _count;
        (_chunks[id >> ChunkBits] ??= new EndpointLabels[ChunkSize])[id & (ChunkSize - 1)] = labels;
        if (id > Overflow) _ids[labels] = id;
        Volatile.Write(ref _count, id + 1);
        return id;
    }

    /// <summary>The labels of an id; empty for an id not (yet) published and for the overflow id. Any thread.</summary>
    public EndpointLabels this[int id] => (uint)id < (uint)Count ? _chunks[id >> ChunkBits]![id & (ChunkSize - 1)] : EndpointLabels.Empty;
}
