using FlowWatch.Detectors.Common;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;

namespace FlowWatch.Detectors.Backends;

/// <summary>The backends the backend-health detector tracks: services and their backend pods, indexed by backend
/// IP and target port, bounded, and folded from cluster state, configuration and flows.</summary>
/// <remarks>
/// The backend set comes from cluster state (ServiceState + ServiceBackendsState), from static configuration until
/// cluster state names the service, and from flows whose destination_service names a known service. kube-proxy
/// leaves destination_service empty, so samples are matched to backends by backend IP and target port. At the bound
/// the flow-learned backend quiet longest goes first: two LRUs (learned, known) under one joint bound, the learned one
/// emptied first. Not thread-safe: the detector holds its lock around every call.
/// </remarks>
internal sealed class BackendTable
{
    private const int MaxLearnedPorts = 8;

    private readonly BackendHealthOptions _options;
    private readonly Dictionary<(string Ns, string Name), ServiceEntry> _services = new();
    private readonly Dictionary<(string Ns, string Name), ServiceBackendsState> _pendingBackends = new();
    private readonly Dictionary<(IpAddr Ip, int Port), List<BackendEntry>> _index = new();
    private readonly Dictionary<(string Ns, string Pod), List<BackendEntry>> _byPod = new();
    // Each holds its backends least recently seen first; their own bound never bites (the joint one below comes first).
    private readonly BoundedLru<BackendEntry, bool> _learnedByAge, _knownByAge;
    private BackendMetrics? _metrics;
    private bool _clusterServices;

    public BackendTable(BackendHealthOptions options)
    {
        _options = options;
        _learnedByAge = new BoundedLru<BackendEntry, bool>(options.MaxBackends, comparer: ReferenceEqualityComparer.Instance);
        _knownByAge = new BoundedLru<BackendEntry, bool>(options.MaxBackends, comparer: ReferenceEqualityComparer.Instance);
    }

    public long BackendsEvicted { get; private set; }
    public long ServicesIgnored { get; private set; }
    public int BackendCount => _learnedByAge.Count + _knownByAge.Count;
    public IReadOnlyDictionary<(string Ns, string Name), ServiceEntry> Services => _services;
    public IReadOnlyDictionary<(string Ns, string Pod), List<BackendEntry>> ByPod => _byPod;

    /// <summary>From now on each backend added gets its metric children.</summary>
    public void UseMetrics(BackendMetrics metrics) => _metrics = metrics;

    /// <summary>Marks a backend seen now (it moves to the young end of its age list) and learns its node.</summary>
    public void Touch(BackendEntry b, string node, DateTimeOffset now)
    {
        b.LastSeen = now;
        (b.Learned ? _learnedByAge : _knownByAge).TryGet(b, out _);
        if (b.Node.Length == 0 && node.Length != 0) b.Node = node;
    }

    /// <summary>Forgets a flow-learned service once its last backend is gone.</summary>
    public void DropIfEmptyLearned(ServiceEntry svc)
    {
        if (svc.LearnedFromFlows && svc.Backends.Count == 0) _services.Remove((svc.Namespace, svc.Name));
    }

    public void ApplyStatic(StaticServiceConfig s)
    {
        var svc = GetOrAddService(s.Namespace, s.Service);
        if (svc is null) return;
        svc.Type = s.Type;
        svc.Ports = [(s.NodePort, s.TargetPort)];
        var list = new List<BackendState>(s.Backends.Count);
        foreach (var b in s.Backends) list.Add(new BackendState(b.Pod, IpAddr.Parse(b.Ip), b.Node, Ready: false));
        SetBackends(svc, list, readinessKnown: false);
    }

    public void Apply(ClusterEvent e)
    {
        switch (e)
        {
            case ServiceState s: ApplyService(s); break;
            case ServiceBackendsState b: ApplyBackends(b); break;
            case PodState p: ApplyPod(p); break;
        }
    }

    private void ApplyService(ServiceState s)
    {
        var key = (s.Namespace, s.Name);
        if (!_clusterServices)
        {
            // From now on cluster state says which services are exposed on nodes; guesses from flows are dropped.
            _clusterServices = true;
            foreach (var learned in _services.Values.Where(v => v.LearnedFromFlows).ToList())
            {
                RemoveAllBackends(learned);
                _services.Remove((learned.Namespace, learned.Name));
            }
        }
        var tracked = !s.Deleted && (s.Type is "NodePort" or "LoadBalancer");
        if (!tracked)
        {
            // Cluster state is authoritative: a service that is gone or not exposed on nodes is dropped, static or not.
            if (_services.Remove(key, out var gone)) RemoveAllBackends(gone);
            _pendingBackends.Remove(key);
            return;
        }
        var svc = GetOrAddService(s.Namespace, s.Name);
        if (svc is null) return;
        var ports = new List<(int, int)>();
        foreach (var p in s.Ports)
            if (p.Protocol is "" or "TCP" && p.TargetPort > 0) ports.Add((p.NodePort, p.TargetPort));
        foreach (var b in svc.Backends.Values) Unindex(b);
        svc.Type = s.Type;
        svc.Ports = ports;
        svc.FromCluster = true;
        svc.LearnedFromFlows = false;
        foreach (var b in svc.Backends.Values) Index(b);
        if (_pendingBackends.Remove(key, out var pending)) ApplyBackends(pending);
    }

    private void ApplyBackends(ServiceBackendsState b)
    {
        var key = (b.Namespace, b.Service);
        if (!_services.TryGetValue(key, out var svc))
        {
            // EndpointSlices can arrive before their Service; keep the latest until we learn the service's type.
            if (b.Deleted) _pendingBackends.Remove(key);
            else if (_pendingBackends.Count < _options.MaxServices || _pendingBackends.ContainsKey(key)) _pendingBackends[key] = b;
            else ServicesIgnored++;
            return;
        }
        SetBackends(svc, b.Deleted ? [] : b.Backends, readinessKnown: true);
    }

    private void ApplyPod(PodState p)
    {
        if (!_byPod.TryGetValue((p.Namespace, p.Name), out var list)) return;
        foreach (var b in list)
        {
            b.Ready = p.Deleted ? false : p.Ready;
            if (p.Workload.Length != 0) b.Workload = p.Workload;
        }
    }

    // A backend added from an EndpointSlice knows only its pod's name, so its workload starts as the name-based guess;
    // the first flow that names the workload (Cilium's workloads field, or the owner references the enricher adds) corrects it.
    private static void LearnWorkload(List<BackendEntry> backends, string pod, string workload)
    {
        if (workload.Length == 0) return;
        foreach (var b in backends)
            if (b.Pod == pod && !string.Equals(b.Workload, workload, StringComparison.Ordinal)) b.Workload = workload;
    }

    private ServiceEntry? GetOrAddService(string ns, string name)
    {
        if (_services.TryGetValue((ns, name), out var svc)) return svc;
        if (_services.Count >= _options.MaxServices) { ServicesIgnored++; return null; }
        svc = new ServiceEntry(ns, name);
        _services[(ns, name)] = svc;
        return svc;
    }

    private void SetBackends(ServiceEntry svc, IReadOnlyList<BackendState> backends, bool readinessKnown)
    {
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in backends)
        {
            keep.Add(s.Pod);
            if (svc.Backends.TryGetValue(s.Pod, out var b))
            {
                if (b.Ip != s.Ip) { Unindex(b); b.Ip = s.Ip; Index(b); }
            }
            else
            {
                b = AddBackend(svc, s.Pod, s.Ip, "");
                if (b is null) continue;
            }
            if (s.Node.Length != 0) b.Node = s.Node;
            b.Ready = readinessKnown ? s.Ready : null;
            SetLearned(b, false);
        }
        List<BackendEntry>? gone = null;
        foreach (var b in svc.Backends.Values)
            if (!keep.Contains(b.Pod)) (gone ??= []).Add(b);
        if (gone is not null) foreach (var b in gone) RemoveBackend(b);
    }

    private BackendEntry? AddBackend(ServiceEntry svc, string pod, IpAddr ip, string workload)
    {
        if (BackendCount >= _options.MaxBackends && !EvictOneBackend()) return null;
        var b = new BackendEntry(svc, pod, new RollingCounters(_options.Window, _options.Bucket, BackendEntry.Slots))
        {
            Ip = ip,
            Workload = workload.Length != 0 ? workload : Workloads.FromPodName(pod),
        };
        svc.Backends[pod] = b;
        _knownByAge.Set(b, true);
        Index(b);
        var podKey = (svc.Namespace, pod);
        if (!_byPod.TryGetValue(podKey, out var list)) _byPod[podKey] = list = [];
        list.Add(b);
        _metrics?.Attach(b);
        return b;
    }

    private bool EvictOneBackend()
    {
        // The flow-learned backend quiet longest goes first; one that cluster state or configuration names only after.
        if (!_learnedByAge.TryPeekOldest(out var victim, out _) && !_knownByAge.TryPeekOldest(out victim, out _)) return false;
        RemoveBackend(victim);
        BackendsEvicted++;
        _metrics?.Evicted("bound");
        return true;
    }

    private void RemoveAllBackends(ServiceEntry svc)
    {
        foreach (var b in svc.Backends.Values.ToList()) RemoveBackend(b);
    }

    private void SetLearned(BackendEntry b, bool learned)
    {
        if (b.Learned == learned) return;
        b.Learned = learned;
        if ((learned ? _knownByAge : _learnedByAge).Remove(b)) (learned ? _learnedByAge : _knownByAge).Set(b, true);
    }

    public void RemoveBackend(BackendEntry b)
    {
        (b.Learned ? _learnedByAge : _knownByAge).Remove(b);
        Unindex(b);
        b.Service.Backends.Remove(b.Pod);
        var podKey = (b.Service.Namespace, b.Pod);
        if (_byPod.TryGetValue(podKey, out var list))
        {
            list.Remove(b);
            if (list.Count == 0) _byPod.Remove(podKey);
        }
        BackendMetrics.Detach(b);
    }

    private void Index(BackendEntry b)
    {
        foreach (var (_, target) in b.Service.Ports)
        {
            var key = (b.Ip, target);
            if (!_index.TryGetValue(key, out var list)) _index[key] = list = [];
            if (!list.Contains(b)) list.Add(b);
        }
    }

    private void Unindex(BackendEntry b)
    {
        foreach (var (_, target) in b.Service.Ports)
        {
            var key = (b.Ip, target);
            if (!_index.TryGetValue(key, out var list)) continue;
            list.Remove(b);
            if (list.Count == 0) _index.Remove(key);
        }
    }

    /// <summary>
    /// The backends a packet to ip:port reaches; learns a backend when the flow names a tracked service. Until cluster
    /// state describes services, a service named by a flow from outside the cluster (a client that is not a pod, as
    /// NodePort and LoadBalancer clients are) is learned too, with that port as its target port.
    /// </summary>
    public List<BackendEntry>? Resolve(IpAddr ip, int port, ServiceRef service, string podNamespace, string pod, string workload,
        string node, FlowEndpoint client)
    {
        if (_index.TryGetValue((ip, port), out var list))
        {
            LearnWorkload(list, pod, workload);
            return list;
        }
        if (service.IsEmpty || pod.Length == 0) return null;
        var ns = string.IsNullOrEmpty(service.Namespace) ? podNamespace : service.Namespace;
        if (!_services.TryGetValue((ns, service.Name!), out var svc))
        {
            if (_clusterServices || client.IsPod || ReferenceEquals(client, FlowEndpoint.Empty)) return null;
            svc = GetOrAddService(ns, service.Name!);
            if (svc is null) return null;
            svc.Type = "service reached from outside the cluster";
            svc.LearnedFromFlows = true;
        }
        if (svc.LearnedFromFlows && !svc.HasTargetPort(port) && !client.IsPod && svc.Ports.Count < MaxLearnedPorts)
        {
            foreach (var other in svc.Backends.Values) Unindex(other);
            svc.Ports.Add((0, port));
            foreach (var other in svc.Backends.Values) Index(other);
            if (_index.TryGetValue((ip, port), out list)) return list;
        }
        if (!svc.HasTargetPort(port)) return null;
        if (svc.Backends.ContainsKey(pod)) return null; // same pod seen at another IP; cluster state will say which
        var b = AddBackend(svc, pod, ip, workload);
        if (b is null) return null;
        SetLearned(b, true);
        if (node.Length != 0) b.Node = node;
        return _index.TryGetValue((ip, port), out list) ? list : null;
    }
}
