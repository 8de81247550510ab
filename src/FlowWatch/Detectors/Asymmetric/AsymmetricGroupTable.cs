using FlowWatch.Detectors.Common;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;

namespace FlowWatch.Detectors.Asymmetric;

/// <summary>The asymmetric-path detector's state: (pod, peer range) groups in a bounded LRU, indexed by pod, and the
/// ENI placement of pod IPs from cluster state.</summary>
/// <remarks>Not thread-safe: the detector holds its lock around every call.</remarks>
internal sealed class AsymmetricGroupTable
{
    private readonly AsymmetricPathOptions _options;
    private readonly BoundedLru<AsymmetricGroupKey, AsymmetricGroup> _groups;
    private readonly Dictionary<(string Ns, string Pod), List<AsymmetricGroup>> _byPod = new();
    private readonly Dictionary<IpAddr, EniAddressState> _eni = new();

    /// <param name="onEvicted">Called for each group the bound pushes out (to count it).</param>
    public AsymmetricGroupTable(AsymmetricPathOptions options, Action onEvicted)
    {
        _options = options;
        _groups = new BoundedLru<AsymmetricGroupKey, AsymmetricGroup>(options.MaxGroups, (_, g) =>
        {
            Unindex(g);
            onEvicted();
        });
    }

    public int Count => _groups.Count;

    /// <summary>Groups pushed out by <see cref="AsymmetricPathOptions.MaxGroups"/>.</summary>
    public long Evicted => _groups.Evicted;

    /// <summary>ENI placements not remembered because <see cref="AsymmetricPathOptions.MaxEniAddresses"/> was reached.</summary>
    public long EniIgnored { get; private set; }

    public void Apply(EniAddressState eni)
    {
        if (eni.Deleted) { _eni.Remove(eni.Ip); return; }
        if (_eni.Count >= _options.MaxEniAddresses && !_eni.ContainsKey(eni.Ip)) { EniIgnored++; return; }
        _eni[eni.Ip] = eni;
    }

    public EniAddressState? EniOf(IpAddr ip) => _eni.GetValueOrDefault(ip);

    /// <summary>The group of the key, made most recent; created (evicting the least recent at the bound) when new.</summary>
    public AsymmetricGroup Touch(AsymmetricGroupKey key) =>
        _groups.GetOrAdd(key, k =>
        {
            var g = new AsymmetricGroup(k, new RollingCounters(_options.Window, _options.Bucket, HandshakeOutcomes.Count));
            var podKey = (k.Namespace, k.Pod);
            if (!_byPod.TryGetValue(podKey, out var list)) _byPod[podKey] = list = [];
            list.Add(g);
            return g;
        });

    /// <summary>The pod's groups (every peer range it was reached from), or null when none is kept.</summary>
    public List<AsymmetricGroup>? GroupsOf(string ns, string pod) => _byPod.GetValueOrDefault((ns, pod));

    /// <summary>Forgets groups last seen before <paramref name="horizon"/>.</summary>
    public void ExpireBefore(DateTimeOffset horizon) =>
        _groups.RemoveOldestWhile((_, g) => g.LastSeen < horizon, (_, g) => Unindex(g));

    private void Unindex(AsymmetricGroup g)
    {
        var podKey = (g.Key.Namespace, g.Key.Pod);
        if (!_byPod.TryGetValue(podKey, out var list)) return;
        list.Remove(g);
        if (list.Count == 0) _byPod.Remove(podKey);
    }
}
