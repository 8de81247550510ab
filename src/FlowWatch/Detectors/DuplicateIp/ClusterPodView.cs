using FlowWatch.Detectors.Common;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;

namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>The detector's bounded fold of cluster state: pods by IP, CiliumEndpoints, agents' readiness.</summary>
/// <remarks>
/// Written by the pipeline thread as cluster events arrive; read by API threads through the pod report,
/// so every member takes one lock (cluster events are rare next to flows). Times are event-time ticks:
/// when the detector first saw two running pods on one IP, or a running pod without a CiliumEndpoint.
/// </remarks>
internal sealed class ClusterPodView(DuplicateIpOptions options)
{
    private readonly object _gate = new();
    private readonly Dictionary<PodKey, PodState> _pods = new();
    private readonly Dictionary<IpAddr, List<PodKey>> _runningByIp = new();
    private readonly Dictionary<IpAddr, long> _conflictSince = new();
    private readonly Dictionary<PodKey, CiliumEndpointState> _ceps = new();
    private readonly Dictionary<string, DateTimeOffset?> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<PodKey, long> _noCepSince = new();
    private readonly Dictionary<IpAddr, int> _hostNetworkIps = new();
    private readonly BoundedLru<PodKey, long> _recentlyDeleted = new(options.MaxRecentlyDeleted);
    private long _shed;

    /// <summary>Pods, CiliumEndpoints, agents or remembered deletions not held because a bound was reached.</summary>
    public long Shed { get { lock (_gate) return _shed + _recentlyDeleted.Evicted; } }

    public int Pods { get { lock (_gate) return _pods.Count; } }
    public int Endpoints { get { lock (_gate) return _ceps.Count; } }
    public int RecentlyDeletedCount { get { lock (_gate) return _recentlyDeleted.Count; } }
    public int Candidates { get { lock (_gate) return _noCepSince.Count + _conflictSince.Count; } }

    /// <summary>Folds one change in; calls <paramref name="onPodGone"/> for a pod deleted or finished (its IP is free).</summary>
    public void Apply(ClusterEvent change, long now, Action<PodKey, IpAddr> onPodGone)
    {
        PodKey? gone = null;
        var goneIp = IpAddr.None;
        lock (_gate)
        {
            switch (change)
            {
                case PodState p: ApplyPod(p, now, ref gone, ref goneIp); break;
                case CiliumEndpointState c: ApplyEndpoint(c, now); break;
                case CiliumAgentState a:
                    if (a.Deleted) _agents.Remove(a.Node);
                    else if (_agents.Count < options.MaxNodeLabels || _agents.ContainsKey(a.Node)) _agents[a.Node] = a.ReadySince;
                    else _shed++;
                    break;
            }
        }
        if (gone is { } g) onPodGone(g, goneIp);
    }

    private void ApplyPod(PodState p, long now, ref PodKey? gone, ref IpAddr goneIp)
    {
        var key = new PodKey(p.Namespace, p.Name);
        _pods.TryGetValue(key, out var old);
        long? noCep = _noCepSince.TryGetValue(key, out var t) ? t : null;
        if (old is not null) Unindex(key, old);
        if (p.Deleted || p.Phase is "Succeeded" or "Failed")
        {
            if (p.Deleted) _pods.Remove(key); else _pods[key] = p;
            RememberDeleted(key, now);
            gone = key;
            goneIp = old is not null && !old.Ip.IsNone ? old.Ip : p.Ip;
            return;
        }
        if (old is null && _pods.Count >= options.MaxPods) { _shed++; return; }
        _recentlyDeleted.Remove(key);
        _pods[key] = p;
        Index(key, p, now);
        if (noCep is { } since && _noCepSince.ContainsKey(key)) _noCepSince[key] = since;
    }

    private void Index(PodKey key, PodState p, long now)
    {
        if (p.Ip.IsNone) return;
        if (p.HostNetwork)
        {
            _hostNetworkIps[p.Ip] = _hostNetworkIps.GetValueOrDefault(p.Ip) + 1;
            return;
        }
        if (!p.Running) return;
        if (!_runningByIp.TryGetValue(p.Ip, out var list)) _runningByIp[p.Ip] = list = new List<PodKey>(1);
        list.Add(key);
        if (list.Count >= 2) _conflictSince.TryAdd(p.Ip, now);
        if (!_ceps.ContainsKey(key)) _noCepSince.TryAdd(key, now);
    }

    private void Unindex(PodKey key, PodState p)
    {
        _noCepSince.Remove(key);
        if (p.Ip.IsNone) return;
        if (p.HostNetwork)
        {
            if (_hostNetworkIps.TryGetValue(p.Ip, out var n) && n > 1) _hostNetworkIps[p.Ip] = n - 1;
            else _hostNetworkIps.Remove(p.Ip);
            return;
        }
        if (!_runningByIp.TryGetValue(p.Ip, out var list)) return;
        list.Remove(key);
        if (list.Count < 2) _conflictSince.Remove(p.Ip);
        if (list.Count == 0) _runningByIp.Remove(p.Ip);
    }

    private void ApplyEndpoint(CiliumEndpointState c, long now)
    {
        var key = new PodKey(c.Namespace, c.Name);
        if (c.Deleted)
        {
            if (_ceps.Remove(key) && _pods.TryGetValue(key, out var pod) && pod.Running && !pod.HostNetwork && !pod.Ip.IsNone)
                _noCepSince.TryAdd(key, now);
            return;
        }
        if (!_ceps.ContainsKey(key) && _ceps.Count >= options.MaxPods) { _shed++; return; }
        _ceps[key] = c;
        _noCepSince.Remove(key);
    }

    private void RememberDeleted(PodKey key, long now) => _recentlyDeleted.Set(key, now);

    /// <summary>Forgets deletions older than <paramref name="cutoff"/>.</summary>
    public void Expire(long cutoff)
    {
        lock (_gate) _recentlyDeleted.RemoveOldestWhile((_, at) => at < cutoff);
    }

    public bool WasRecentlyDeleted(string ns, string pod)
    {
        lock (_gate) return _recentlyDeleted.Count != 0 && _recentlyDeleted.ContainsKey(new PodKey(ns, pod));
    }

    public bool IsHostNetworkIp(IpAddr ip)
    {
        lock (_gate) return _hostNetworkIps.Count != 0 && _hostNetworkIps.ContainsKey(ip);
    }

    public bool Knows(PodKey key)
    {
        lock (_gate) return _pods.ContainsKey(key);
    }

    public PodState? Pod(PodKey key)
    {
        lock (_gate) return _pods.GetValueOrDefault(key);
    }

    /// <summary>The running pods on <paramref name="ip"/>, described for a conflict.</summary>
    public IReadOnlyList<ConflictPod> RunningOn(IpAddr ip)
    {
        lock (_gate)
        {
            if (!_runningByIp.TryGetValue(ip, out var list)) return [];
            var result = new List<ConflictPod>(list.Count);
            foreach (var key in list) result.Add(Describe(key, _pods[key], 0, 0));
            return result;
        }
    }

    /// <summary>What cluster state says about a pod named in flows; null when the pod is unknown.</summary>
    public ConflictPod? DescribeKnown(PodKey key, uint identity, long flows)
    {
        lock (_gate) return _pods.TryGetValue(key, out var p) ? Describe(key, p, identity, flows) : null;
    }

    private ConflictPod Describe(PodKey key, PodState p, uint identity, long flows)
    {
        var ready = _agents.GetValueOrDefault(p.Node);
        bool? before = ready is { } r && p.StartTime is { } s ? s < r : null;
        // Without any CiliumEndpoint known, their absence says nothing (CEPs not watched, or CiliumEndpointSlices).
        bool? managed = _ceps.ContainsKey(key) ? true : _ceps.Count > 0 ? false : null;
        return new ConflictPod(key.Namespace, key.Name, p.Node, managed, before, p.StartTime, identity, flows);
    }

    /// <summary>IPs on which two or more running pods have sat for at least the grace period.</summary>
    public List<IpAddr> ConflictIps(long readyBefore)
    {
        lock (_gate)
        {
            var result = new List<IpAddr>();
            foreach (var (ip, since) in _conflictSince)
                if (since <= readyBefore) result.Add(ip);
            return result;
        }
    }

    /// <summary>Running pods with no CiliumEndpoint on nodes whose agent has been ready for the grace period.</summary>
    public List<(IpAddr Ip, UnmanagedEndpoint Endpoint)> UnmanagedPods(long now, long grace)
    {
        lock (_gate)
        {
            var result = new List<(IpAddr, UnmanagedEndpoint)>();
            if (_ceps.Count == 0) return result;
            foreach (var (key, since) in _noCepSince)
            {
                if (now - since < grace || !_pods.TryGetValue(key, out var p)) continue;
                if (!_agents.TryGetValue(p.Node, out var ready) || ready is not { } r || r.UtcTicks > now - grace) continue;
                ConflictPod? owner = null;
                if (_runningByIp.TryGetValue(p.Ip, out var list))
                    foreach (var other in list)
                        if (!other.Equals(key) && _ceps.ContainsKey(other)) { owner = Describe(other, _pods[other], 0, 0); break; }
                result.Add((p.Ip, new UnmanagedEndpoint(p.Ip.ToString(), p.Node, Describe(key, p, 0, 0), owner, 0, true, r)));
            }
            return result;
        }
    }

    /// <summary>Who else cluster state has on the IP of an unmanaged flow, to name the pod in the finding.</summary>
    public (ConflictPod? Unmanaged, ConflictPod? Managed, DateTimeOffset? AgentReady) OwnersOf(IpAddr ip)
    {
        lock (_gate)
        {
            ConflictPod? unmanaged = null, managed = null;
            DateTimeOffset? ready = null;
            if (!_runningByIp.TryGetValue(ip, out var list)) return (null, null, null);
            foreach (var key in list)
            {
                var d = Describe(key, _pods[key], 0, 0);
                ready ??= _agents.GetValueOrDefault(d.Node);
                if (d.Managed == true) managed ??= d; else if (d.Managed == false) unmanaged ??= d;
            }
            return (unmanaged, managed, ready);
        }
    }
}
