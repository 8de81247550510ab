using System.Collections.Concurrent;
using FlowWatch.Flows;
using FlowWatch.Kubernetes.Cilium;
using FlowWatch.Kubernetes.Watching;
using k8s.Models;

namespace FlowWatch.Kubernetes;

/// <summary>FlowWatch's copy of the cluster: what the watchers delivered, folded into state, with each change published as a <see cref="ClusterEvent"/>.</summary>
/// <remarks>
/// Writers (one per watched kind) serialise on one lock; the IP → pod map read by flow enrichment is a
/// <see cref="ConcurrentDictionary{TKey,TValue}"/>, so the hot path reads without taking it. Bound: one
/// entry per pod, CiliumEndpoint, ENI address, service, EndpointSlice and node the cluster has, each kind
/// capped at <see cref="WatchOptions.MaxObjectsPerResource"/> objects (more are shed and counted).
/// </remarks>
public sealed class ClusterView
{
    private readonly object _gate = new();
    private readonly Action<ClusterEvent> _publish;
    private readonly Dictionary<string, PodState> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _podUids = new(StringComparer.Ordinal);
    private readonly Dictionary<IpAddr, List<string>> _podsOnIp = new();
    private readonly ConcurrentDictionary<IpAddr, PodState> _podByIp = new();
    private readonly Dictionary<string, string> _agentNodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<CiliumEndpointState>> _ceps = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<IpAddr, string> _cepByIp = new();
    private readonly Dictionary<string, List<EniAddressState>> _enis = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ServiceState> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ServiceState> _servicesPublished = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Service, List<BackendState> Backends, Dictionary<string, int> Ports)> _slices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _slicesOfService = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _nodeIps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _nodeByIp = new(StringComparer.Ordinal);

    public ClusterView(Action<ClusterEvent> publish, WatchOptions? options = null, KubeWatchMetrics? metrics = null)
    {
        _publish = publish;
        var o = (options ?? new WatchOptions()).Validate();
        var max = o.MaxObjectsPerResource;
        Action Shed(string r) => () => metrics?.Shed.WithLabels("kube_" + r).Inc();
        Pods = new KeyedHandler<V1Pod>(_gate, "pods", max, UpsertPod, DeletePod, Shed("pods"));
        Services = new KeyedHandler<V1Service>(_gate, "services", max, UpsertService, DeleteService, Shed("services"));
        EndpointSlices = new KeyedHandler<V1EndpointSlice>(_gate, "endpointslices", max, UpsertSlice, DeleteSlice, Shed("endpointslices"));
        Nodes = new KeyedHandler<V1Node>(_gate, "nodes", max, UpsertNode, DeleteNode, Shed("nodes"));
        CiliumEndpoints = new KeyedHandler<V2CiliumEndpoint>(_gate, "ciliumendpoints", max, UpsertCep, DeleteCep, Shed("ciliumendpoints"));
        CiliumNodes = new KeyedHandler<V2CiliumNode>(_gate, "ciliumnodes", max, UpsertCiliumNode, DeleteCiliumNode, Shed("ciliumnodes"));
    }

    public IResourceHandler<V1Pod> Pods { get; }
    public IResourceHandler<V1Service> Services { get; }
    public IResourceHandler<V1EndpointSlice> EndpointSlices { get; }
    public IResourceHandler<V1Node> Nodes { get; }
    public IResourceHandler<V2CiliumEndpoint> CiliumEndpoints { get; }
    public IResourceHandler<V2CiliumNode> CiliumNodes { get; }

    /// <summary>The pod that holds <paramref name="ip"/> (running, pod network, and the only one holding it). Lock-free.</summary>
    public bool TryGetPodByIp(IpAddr ip, out PodState pod) => _podByIp.TryGetValue(ip, out pod!);

    public int PodIpCount => _podByIp.Count;

    public PodState? Pod(string ns, string name)
    {
        lock (_gate) return _pods.GetValueOrDefault(KeyedHandler<V1Pod>.Key(ns, name));
    }

    public string? PodUid(string ns, string name)
    {
        lock (_gate) return _podUids.GetValueOrDefault(KeyedHandler<V1Pod>.Key(ns, name));
    }

    /// <summary>A running pod of a workload (for an Event about the workload); null when none. A scan: callers are rate limited.</summary>
    public string? AnyPodOf(string ns, string workload)
    {
        lock (_gate)
            foreach (var p in _pods.Values)
                if (p.Namespace == ns && p.Workload == workload && p.Running) return p.Name;
        return null;
    }

    /// <summary>True when a CiliumEndpoint of that name exists, or one manages the pod's IP.</summary>
    public bool HasCiliumEndpoint(string ns, string name)
    {
        lock (_gate)
        {
            var key = KeyedHandler<V1Pod>.Key(ns, name);
            if (_ceps.ContainsKey(key)) return true;
            return _pods.TryGetValue(key, out var p) && !p.Ip.IsNone && _cepByIp.TryGetValue(p.Ip, out var owner) && owner == key;
        }
    }

    /// <summary>Every change so far as one list of events (for a late subscriber).</summary>
    public List<ClusterEvent> Snapshot()
    {
        lock (_gate)
        {
            var all = new List<ClusterEvent>();
            all.AddRange(_pods.Values);
            all.AddRange(_ceps.Values.SelectMany(c => c));
            all.AddRange(_enis.Values.SelectMany(e => e));
            all.AddRange(_servicesPublished.Values);
            return all;
        }
    }

    // ---- pods (and the Cilium agents among them) ----

    private void UpsertPod(string key, V1Pod pod)
    {
        var state = ClusterConverters.Pod(pod);
        if (pod.Metadata?.Uid is { } uid) _podUids[key] = uid;
        var old = _pods.GetValueOrDefault(key);
        _pods[key] = state;
        if (old is not null && old.Ip != state.Ip) { Unindex(old.Ip, key); }
        if (state.Running && !state.HostNetwork && !state.Ip.IsNone) Index(state.Ip, key);
        else if (!state.Ip.IsNone) Unindex(state.Ip, key);
        if (old != state) _publish(state);
        if (ClusterConverters.IsCiliumAgent(pod) && state.Node.Length != 0)
        {
            _agentNodes[key] = state.Node;
            _publish(ClusterConverters.Agent(pod));
        }
    }

    private void DeletePod(string key)
    {
        if (!_pods.Remove(key, out var old)) return;
        _podUids.Remove(key);
        Unindex(old.Ip, key);
        _publish(old with { Deleted = true });
        if (_agentNodes.Remove(key, out var node)) _publish(new CiliumAgentState(node, null, Deleted: true));
    }

    private void Index(IpAddr ip, string key)
    {
        if (!_podsOnIp.TryGetValue(ip, out var list)) _podsOnIp[ip] = list = [];
        if (!list.Contains(key)) list.Add(key);
        Reindex(ip);
    }

    private void Unindex(IpAddr ip, string key)
    {
        if (ip.IsNone || !_podsOnIp.TryGetValue(ip, out var list)) return;
        list.Remove(key);
        if (list.Count == 0) _podsOnIp.Remove(ip);
        Reindex(ip);
    }

    /// <summary>Flow enrichment names a pod for an IP only when exactly one running pod holds it; a shared IP is the duplicate-IP detector's business.</summary>
    private void Reindex(IpAddr ip)
    {
        if (!_podsOnIp.TryGetValue(ip, out var list) || list.Count != 1) { _podByIp.TryRemove(ip, out _); return; }
        _podByIp[ip] = _pods[list[0]];
    }

    // ---- CiliumEndpoints ----

    private void UpsertCep(string key, V2CiliumEndpoint cep)
    {
        var nodeIp = cep.Status?.Networking?.Node ?? "";
        var node = _nodeByIp.GetValueOrDefault(nodeIp) ?? _pods.GetValueOrDefault(key)?.Node ?? nodeIp;
        var states = ClusterConverters.Endpoint(cep, node);
        var old = _ceps.GetValueOrDefault(key) ?? [];
        _ceps[key] = states;
        foreach (var o in old)
            if (!states.Any(s => s.Ip == o.Ip)) { RemoveCepIp(o.Ip, key); _publish(o with { Deleted = true }); }
        foreach (var s in states)
        {
            _cepByIp[s.Ip] = key;
            Reindex(s.Ip);
            if (!old.Contains(s)) _publish(s);
        }
    }

    private void DeleteCep(string key)
    {
        if (!_ceps.Remove(key, out var old)) return;
        foreach (var o in old) { RemoveCepIp(o.Ip, key); _publish(o with { Deleted = true }); }
    }

    private void RemoveCepIp(IpAddr ip, string key)
    {
        if (_cepByIp.TryGetValue(ip, out var owner) && owner == key) _cepByIp.TryRemove(ip, out _);
        Reindex(ip);
    }

    // ---- CiliumNodes (ENI addresses) ----

    private void UpsertCiliumNode(string key, V2CiliumNode node)
    {
        var states = ClusterConverters.EniAddresses(node);
        var old = _enis.GetValueOrDefault(key) ?? [];
        _enis[key] = states;
        foreach (var o in old)
            if (!states.Any(s => s.Ip == o.Ip)) _publish(o with { Deleted = true });
        foreach (var s in states)
            if (!old.Contains(s)) _publish(s);
    }

    private void DeleteCiliumNode(string key)
    {
        if (!_enis.Remove(key, out var old)) return;
        foreach (var o in old) _publish(o with { Deleted = true });
    }

    // ---- Services and their EndpointSlices ----

    private static bool Exposed(ServiceState s) => s.Type is "NodePort" or "LoadBalancer";

    private void UpsertService(string key, V1Service svc)
    {
        var state = ClusterConverters.Service(svc);
        var old = _services.GetValueOrDefault(key);
        if (!Exposed(state))
        {
            if (old is not null) DeleteService(key);
            return;
        }
        _services[key] = state;
        PublishService(key);
        if (old is null && _slicesOfService.ContainsKey(key)) PublishBackends(key);   // slices seen while it was unknown or ClusterIP
    }

    /// <summary>Publishes the service with named target ports resolved from its EndpointSlices, when that differs from what was last published.</summary>
    private void PublishService(string key)
    {
        if (!_services.TryGetValue(key, out var state)) return;
        if (state.Ports.Any(p => p.TargetPort == 0) && _slicesOfService.TryGetValue(key, out var slices))
            state = state with { Ports = state.Ports.Select(p => p.TargetPort != 0 ? p : p with { TargetPort = SlicePort(slices, p.Name) }).ToList() };
        if (_servicesPublished.TryGetValue(key, out var last) && SamePorts(last, state)) return;
        _servicesPublished[key] = state;
        _publish(state);
    }

    private int SlicePort(HashSet<string> slices, string portName)
    {
        foreach (var k in slices)
            if (_slices[k].Ports.TryGetValue(portName, out var port)) return port;
        return 0;
    }

    private static bool SamePorts(ServiceState a, ServiceState b) => a.Type == b.Type && a.Ports.SequenceEqual(b.Ports);

    private void DeleteService(string key)
    {
        _servicesPublished.Remove(key, out var published);
        if (_services.Remove(key, out var old)) _publish((published ?? old) with { Deleted = true });
    }

    private void UpsertSlice(string key, V1EndpointSlice slice)
    {
        var service = ClusterConverters.SliceService(slice);
        if (service.Length == 0) return;
        var serviceKey = KeyedHandler<V1Pod>.Key(slice.Metadata?.NamespaceProperty, service);
        if (_slices.TryGetValue(key, out var old) && old.Service != serviceKey) DetachSlice(key, old.Service);
        _slices[key] = (serviceKey, ClusterConverters.SliceBackends(slice), ClusterConverters.SlicePorts(slice));
        if (!_slicesOfService.TryGetValue(serviceKey, out var set)) _slicesOfService[serviceKey] = set = new(StringComparer.Ordinal);
        set.Add(key);
        PublishBackends(serviceKey);
        PublishService(serviceKey);
    }

    private void DeleteSlice(string key)
    {
        if (_slices.Remove(key, out var old)) DetachSlice(key, old.Service);
    }

    private void DetachSlice(string key, string serviceKey)
    {
        if (_slicesOfService.TryGetValue(serviceKey, out var set))
        {
            set.Remove(key);
            if (set.Count == 0) _slicesOfService.Remove(serviceKey);
        }
        PublishBackends(serviceKey);
        PublishService(serviceKey);
    }

    /// <summary>Backends of NodePort/LoadBalancer services only: a ClusterIP service's would take the detector's room for nothing.</summary>
    private void PublishBackends(string serviceKey)
    {
        if (!_services.ContainsKey(serviceKey)) return;
        var slash = serviceKey.IndexOf('/');
        var (ns, name) = (serviceKey[..slash], serviceKey[(slash + 1)..]);
        if (!_slicesOfService.TryGetValue(serviceKey, out var set))
        {
            _publish(new ServiceBackendsState(ns, name, [], Deleted: true));
            return;
        }
        var backends = new List<BackendState>();
        foreach (var k in set) backends.AddRange(_slices[k].Backends);
        _publish(new ServiceBackendsState(ns, name, backends));
    }

    // ---- Nodes (to name the node of a CiliumEndpoint, which carries the node's IP) ----

    private void UpsertNode(string key, V1Node node)
    {
        var ip = node.Status?.Addresses?.FirstOrDefault(a => a.Type == "InternalIP")?.Address;
        if (_nodeIps.Remove(key, out var oldIp)) _nodeByIp.Remove(oldIp);
        if (ip is null) return;
        _nodeIps[key] = ip;
        _nodeByIp[ip] = key;
        // CiliumEndpoints seen before their node carry the node's IP; name the node now.
        foreach (var (cepKey, states) in _ceps)
            for (var i = 0; i < states.Count; i++)
                if (states[i].Node == ip)
                {
                    _publish(states[i] = states[i] with { Node = key });
                }
    }

    private void DeleteNode(string key)
    {
        if (_nodeIps.Remove(key, out var ip)) _nodeByIp.Remove(ip);
    }
}
