namespace FlowWatch.Clusters;

/// <summary>Counts the Cilium cluster names flows carry on their endpoints; the watched cluster's is the most common,
/// because every flow has an endpoint on the node that observed it.</summary>
/// <remarks>Bounded to <see cref="MaxNames"/> names (a ClusterMesh has at most 511 clusters, and a few send traffic to
/// one); names past it are not counted. Names are interned by the decoders, so a lookup is a reference compare. One
/// writer (the pipeline thread, as every sink); <see cref="Local"/> may be read from any thread, <see cref="Tally"/> is a
/// snapshot that may lag the writer by a flow.</remarks>
public sealed class LocalClusterVote
{
    /// <summary>Distinct names counted.</summary>
    public const int MaxNames = 64;

    private readonly string[] _names = new string[MaxNames];
    private readonly long[] _counts = new long[MaxNames];
    private int _used;
    private volatile string _local = "";

    /// <summary>The name most flows carried so far; "" before any flow named a cluster.</summary>
    public string Local => _local;

    /// <summary>Counts one flow: once for each distinct name among its two endpoints.</summary>
    public void Count(string source, string destination)
    {
        if (source.Length != 0) Add(source);
        if (destination.Length != 0 && destination != source) Add(destination);
    }

    private void Add(string name)
    {
        var i = IndexOf(name);
        if (i < 0)
        {
            if (_used == MaxNames) return;
            i = _used;
            _names[i] = name;
            Volatile.Write(ref _used, i + 1);
        }
        var n = ++_counts[i];
        if (!ReferenceEquals(_names[i], _local) && n > CountOf(_local)) _local = _names[i];
    }

    private int IndexOf(string name)
    {
        for (var i = 0; i < _used; i++)
            if (ReferenceEquals(_names[i], name)) return i;
        for (var i = 0; i < _used; i++)
            if (_names[i] == name) return i;
        return -1;
    }

    private long CountOf(string name)
    {
        var i = name.Length == 0 ? -1 : IndexOf(name);
        return i < 0 ? 0 : _counts[i];
    }

    /// <summary>Every name counted with its count, most common first.</summary>
    public IReadOnlyList<(string Name, long Flows)> Tally()
    {
        var used = Volatile.Read(ref _used);
        return Enumerable.Range(0, used).Select(i => (_names[i], Volatile.Read(ref _counts[i]))).OrderByDescending(t => t.Item2).ToList();
    }
}
