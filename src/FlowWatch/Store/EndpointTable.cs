using FlowWatch.Flows;

namespace FlowWatch.Store;

/// <summary>One interned flow endpoint: identity and the ids of its namespace, pod, workload and kind.</summary>
internal readonly record struct EndpointEntry(uint Identity, int Namespace, int Pod, int Workload, int WorkloadKind);

/// <summary>Interns flow endpoints (identity, namespace, pod, workload) to ids; id 0 is the empty endpoint.</summary>
/// <remarks>Append-only; full tables map new endpoints to 0 and count them. Not thread-safe (guarded by the store).</remarks>
internal sealed class EndpointTable(StringTable strings, int capacity)
{
    private readonly Dictionary<EndpointEntry, int> _ids = new() { [default] = 0 };
    private readonly List<EndpointEntry> _entries = [default];
    private FlowEndpoint? _lastEndpoint;
    private int _lastId;

    public int Count => _entries.Count;
    public long Overflowed { get; private set; }

    public int Intern(FlowEndpoint endpoint)
    {
        // Converters often hand the same endpoint object to consecutive flows of one conversation.
        if (ReferenceEquals(endpoint, _lastEndpoint)) return _lastId;
        var entry = new EndpointEntry(endpoint.Identity, strings.Intern(endpoint.Namespace), strings.Intern(endpoint.Pod),
            strings.Intern(endpoint.Workload), strings.Intern(endpoint.WorkloadKind));
        if (!_ids.TryGetValue(entry, out var id))
        {
            if (_entries.Count >= capacity) { Overflowed++; return 0; }
            id = _entries.Count;
            _entries.Add(entry);
            _ids[entry] = id;
        }
        _lastEndpoint = endpoint;
        _lastId = id;
        return id;
    }

    public EndpointEntry this[int id] => _entries[id];
}
