using System.Runtime.CompilerServices;
using FlowWatch.Flows;

namespace FlowWatch.Store;

/// <summary>One interned flow endpoint: identity and the ids of its namespace, pod, workload, kind and label set.</summary>
internal readonly record struct EndpointEntry(uint Identity, int Namespace, int Pod, int Workload, int WorkloadKind, int Labels);

/// <summary>An endpoint by the identity of its (pooled) strings: a cheap first lookup before the one by content.</summary>
internal readonly struct EndpointReference(FlowEndpoint e) : IEquatable<EndpointReference>
{
    private readonly uint _identity = e.Identity;
    private readonly string _ns = e.Namespace, _pod = e.Pod, _workload = e.Workload, _kind = e.WorkloadKind;
    private readonly EndpointLabels _labels = e.Labels;

    public bool Equals(EndpointReference o) => _identity == o._identity && ReferenceEquals(_ns, o._ns) &&
        ReferenceEquals(_pod, o._pod) && ReferenceEquals(_workload, o._workload) && ReferenceEquals(_kind, o._kind) &&
        ReferenceEquals(_labels, o._labels);

    public override bool Equals(object? obj) => obj is EndpointReference o && Equals(o);

    public override int GetHashCode() => HashCode.Combine(_identity, RuntimeHelpers.GetHashCode(_ns),
        RuntimeHelpers.GetHashCode(_pod), RuntimeHelpers.GetHashCode(_workload), RuntimeHelpers.GetHashCode(_kind),
        RuntimeHelpers.GetHashCode(_labels));
}

/// <summary>Interns flow endpoints (identity, namespace, pod, workload, labels) to ids; id 0 is the empty endpoint.</summary>
/// <remarks>Append-only, one writer; readers on any thread (see <see cref="StringTable"/>). Full tables map new endpoints to 0 and count them.</remarks>
internal sealed class EndpointTable
{
    private const int ChunkBits = 12;
    private const int ChunkSize = 1 << ChunkBits;

    private readonly StringTable _strings;
    private readonly LabelSetTable _labels;
    private readonly int _capacity;
    private readonly Dictionary<EndpointEntry, int> _ids = new();
    private readonly Dictionary<EndpointReference, int> _byReference = new();
    private readonly EndpointEntry[]?[] _chunks;
    private int _count;
    // Direct-mapped by object identity: the decoders hand out one FlowEndpoint object per distinct endpoint, so nearly every
    // flow is answered here with one hash of the reference, before the dictionary that hashes five fields.
    private const int CacheSize = 1 << 12;
    private readonly FlowEndpoint?[] _cachedEndpoints = new FlowEndpoint?[CacheSize];
    private readonly int[] _cachedIds = new int[CacheSize];

    public EndpointTable(StringTable strings, LabelSetTable labels, int capacity)
    {
        _strings = strings;
        _labels = labels;
        _capacity = capacity;
        _chunks = new EndpointEntry[]?[(capacity + ChunkSize - 1) / ChunkSize];
        Append(default);
    }

    public int Count => Volatile.Read(ref _count);
    public long Overflowed { get; private set; }

    /// <summary>Called (on the writer) for each value that found the table full.</summary>
    public Action? OnOverflow { get; init; }

    /// <summary>Writer only.</summary>
    public int Intern(FlowEndpoint endpoint)
    {
        var slot = RuntimeHelpers.GetHashCode(endpoint) & (CacheSize - 1);
        if (ReferenceEquals(_cachedEndpoints[slot], endpoint)) return _cachedIds[slot];
        var reference = new EndpointReference(endpoint);
        if (_byReference.TryGetValue(reference, out var known)) { Cache(slot, endpoint, known); return known; }
        var entry = new EndpointEntry(endpoint.Identity, _strings.Intern(endpoint.Namespace), _strings.Intern(endpoint.Pod),
            _strings.Intern(endpoint.Workload), _strings.Intern(endpoint.WorkloadKind), _labels.Intern(endpoint.Labels));
        if (!_ids.TryGetValue(entry, out var id))
        {
            if (_count >= _capacity) { Overflowed++; OnOverflow?.Invoke(); return 0; }
            id = Append(entry);
        }
        if (_byReference.Count >= _capacity) _byReference.Clear();   // bounded, as the string table's
        _byReference[reference] = id;
        Cache(slot, endpoint, id);
        return id;
    }

    // Ids never change once given (the table only appends), so a cached id stays right for as long as it is cached.
    private void Cache(int slot, FlowEndpoint endpoint, int id)
    {
        _cachedEndpoints[slot] = endpoint;
        _cachedIds[slot] = id;
    }

    private int Append(EndpointEntry entry)
    {
        var id = _count;
        (_chunks[id >> ChunkBits] ??= new EndpointEntry[ChunkSize])[id & (ChunkSize - 1)] = entry;
        _ids[entry] = id;
        Volatile.Write(ref _count, id + 1);
        return id;
    }

    /// <summary>The endpoint of an id; the empty endpoint for an id not (yet) published. Any thread.</summary>
    public EndpointEntry this[int id] => (uint)id < (uint)Count ? _chunks[id >> ChunkBits]![id & (ChunkSize - 1)] : default;
}
