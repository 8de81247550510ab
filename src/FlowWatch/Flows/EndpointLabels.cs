using System.Collections.Concurrent;

namespace FlowWatch.Flows;

/// <summary>The Cilium labels of one endpoint ("k8s:app=web", "reserved:world"), one shared immutable set per distinct list.</summary>
/// <remarks>
/// Endpoints of one identity carry the same labels, so a cluster has about as many label sets as identities: the
/// sets are pooled (bounded; past the bound a set is still correct, just not shared, and counted in
/// <see cref="PoolOverflow"/>) and records hold a reference, never a per-flow copy. Equality is by content, in order
/// (Cilium sends them sorted).
/// </remarks>
public sealed class EndpointLabels : IEquatable<EndpointLabels>
{
    private const int PoolCapacity = 1 << 16;
    private static readonly ConcurrentDictionary<EndpointLabels, EndpointLabels> Pool = new();
    private static long _poolOverflow;

    public static readonly EndpointLabels Empty = new([]);

    private readonly string[] _labels;
    private readonly int _hash;

    private EndpointLabels(string[] labels)
    {
        _labels = labels;
        var h = new HashCode();
        foreach (var l in labels) h.Add(l, StringComparer.Ordinal);
        _hash = h.ToHashCode();
    }

    public IReadOnlyList<string> Labels => _labels;
    public int Count => _labels.Length;
    public bool IsEmpty => _labels.Length == 0;

    /// <summary>Label sets that did not fit the pool (each is then its own object).</summary>
    public static long PoolOverflow => Interlocked.Read(ref _poolOverflow);

    /// <summary>The pooled set of these labels (strings interned in <paramref name="strings"/>); <see cref="Empty"/> for none.</summary>
    public static EndpointLabels Of(IReadOnlyList<string>? labels, StringPool? strings = null)
    {
        if (labels is null || labels.Count == 0) return Empty;
        var pool = strings ?? StringPool.Shared;
        var copy = new string[labels.Count];
        for (var i = 0; i < copy.Length; i++) copy[i] = pool.Intern(labels[i]);
        var set = new EndpointLabels(copy);
        if (Pool.TryGetValue(set, out var known)) return known;
        if (Pool.Count >= PoolCapacity) { Interlocked.Increment(ref _poolOverflow); return set; }
        return Pool.GetOrAdd(set, set);
    }

    public bool Equals(EndpointLabels? other)
    {
        if (ReferenceEquals(this, other)) return true;
        if (other is null || other._hash != _hash || other._labels.Length != _labels.Length) return false;
        for (var i = 0; i < _labels.Length; i++)
            if (!string.Equals(_labels[i], other._labels[i], StringComparison.Ordinal)) return false;
        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as EndpointLabels);
    public override int GetHashCode() => _hash;
    public override string ToString() => string.Join(",", _labels);
}
