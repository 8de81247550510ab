using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Kubernetes;

namespace FlowWatch.Simulation;

/// <summary>
/// The synthetic cluster of SCENARIOS.md, built deterministically from a seed and a node count: nodes, workloads,
/// pods with IPs from each node's CIDR, identities, labels, services, the scenarios' special pods, and the
/// outside clients that reach it.
/// </summary>
/// <remarks>
/// Fixed points the scenarios rely on: shop/inventory has a pod on sim-node-3 at <see cref="DuplicateIp"/> (the
/// unmanaged shop/legacy-batch pod holds the same IP when duplicate-ip is on); payments/ledger has one pod on a
/// secondary ENI (eth1) and one on the primary; web/storefront has backends -a, -b, -c behind NodePort 30080, and -b
/// is the one that fails. sim-node-3 is a young node: its agent became ready two hours before the start and its
/// pods are younger than that.
/// </remarks>
public sealed class SimulatedCluster
{
    public const int MinNodes = 3;
    public const int MaxNodes = 200;
    public const string ClusterName = "sim";
    public const uint KubeDnsIdentity = 102;
    public const int StorefrontServicePort = 80;
    public const int StorefrontNodePort = 30080;
    public const int StorefrontTargetPort = 8080;
    public const int LedgerPort = 8443;

    public static readonly IpAddr DuplicateIp = IpAddr.FromV4(10, 1, 3, 77);
    public static readonly IpPrefix PodRange = IpPrefix.Parse("10.1.0.0/16");
    /// <summary>The VPC: node IPs and in-VPC outside clients (10.0.50.x).</summary>
    public static readonly IpPrefix InVpcRange = IpPrefix.Parse("10.0.0.0/16");
    /// <summary>A peered VPC whose clients (172.31.x.y) reach pods across the peering.</summary>
    public static readonly IpPrefix PeeredRange = IpPrefix.Parse("172.31.0.0/16");
    /// <summary>Third octet of the first of the peered VPC's two client subnets (172.31.8.0/24 and 172.31.9.0/24).</summary>
    public const int PeeredClientSubnet = 8;

    private static readonly TimeSpan YoungNodeAge = TimeSpan.FromHours(2);
    private static readonly TimeSpan OldNodeAge = TimeSpan.FromDays(30);

    private readonly List<SimNode> _nodes = [];
    private readonly List<SimWorkload> _workloads = [];
    private readonly List<SimPod> _pods = [];
    private readonly List<SimEndpoint> _hosts = [];
    private readonly List<SimEndpoint> _remoteNodes = [];
    private readonly List<SimEndpoint> _health = [];
    private readonly List<SimEndpoint> _peeredClients = [];
    private readonly List<SimEndpoint> _inVpcClients = [];
    private readonly List<string> _agentPods = [];
    private readonly HashSet<uint> _identities = [];
    private readonly HashSet<IpAddr> _serviceIps = [];
    private readonly int[] _nextHostOctet;
    private readonly SimRandom _rng;

    public SimulatedCluster(int seed, int nodes = 5)
    {
        if (nodes is < MinNodes or > MaxNodes)
            throw new ArgumentOutOfRangeException(nameof(nodes), nodes,
                $"the simulated cluster needs {MinNodes} to {MaxNodes} nodes (the duplicate-ip scenario lives on sim-node-3)");
        Seed = seed;
        _rng = new SimRandom((ulong)(uint)seed ^ 0x5EED_C1A5_7E12_0000UL);
        _nextHostOctet = new int[nodes + 1];
        for (var n = 1; n <= nodes; n++)
        {
            var node = new SimNode(n, $"sim-node-{n}", IpAddr.FromV4(10, 0, 0, (byte)(10 + n)),
                new IpPrefix(IpAddr.FromV4(10, 1, (byte)n, 0), 24));
            _nodes.Add(node);
            _nextHostOctet[n] = 10 + _rng.Next(20);
            _hosts.Add(new SimEndpoint(node.Ip, SimEndpoint.Reserved(ReservedIdentity.Host, "reserved:host"), node, null, 40000 + (uint)_rng.Next(8000)));
            _remoteNodes.Add(new SimEndpoint(node.Ip, SimEndpoint.Reserved(ReservedIdentity.RemoteNode, "reserved:remote-node"), node, null, 40000));
            var health = SimEndpoint.Reserved(ReservedIdentity.Health, "reserved:health");
            health.ID = (uint)_rng.Next(100, 4000);
            _health.Add(new SimEndpoint(IpAddr.FromV4(10, 1, (byte)n, 2), health, node, null, 40000));
        }
        var agentRng = new SimRandom((ulong)(uint)seed ^ 0xC111_0A6E_0000_0000UL);
        foreach (var _ in _nodes) _agentPods.Add("cilium-" + agentRng.NextNamePart(5));

        var scale = (nodes + 4) / 5;
        CoreDns = AddWorkload("kube-system", "coredns", "Deployment", 53, "UDP", http: false, "k8s:k8s-app=kube-dns", "coredns", KubeDnsIdentity);
        MetricsAgent = AddWorkload("kube-system", "metrics-agent", "DaemonSet", 8125, "UDP", http: false);
        Frontend = AddWorkload("web", "frontend", "Deployment", 8080, "TCP", http: true);
        Storefront = AddWorkload("web", "storefront", "Deployment", StorefrontTargetPort, "TCP", http: true);
        Checkout = AddWorkload("shop", "checkout", "Deployment", 8080, "TCP", http: true);
        Cart = AddWorkload("shop", "cart", "Deployment", 8080, "TCP", http: true);
        Inventory = AddWorkload("shop", "inventory", "Deployment", 8080, "TCP", http: true);
        Redis = AddWorkload("shop", "redis", "Deployment", 6379, "TCP", http: false);
        LegacyBatch = AddWorkload("shop", "legacy-batch", "Deployment", 8080, "TCP", http: false, serviceIp: false);
        Ledger = AddWorkload("payments", "ledger", "Deployment", LedgerPort, "TCP", http: false);
        Gateway = AddWorkload("payments", "gateway", "Deployment", 8080, "TCP", http: true);

        // Pinned pods first, so that the pinned addresses are taken before the spread ones.
        DuplicateIpPod = AddPod(Inventory, Node(3), DuplicateIp, managed: true);
        UnmanagedPod = CreatePod(LegacyBatch, Node(3), DuplicateIp, managed: false, "eth0", YoungNodeAge + TimeSpan.FromMinutes(7));
        AsymmetricPod = AddPod(Ledger, Node(2), eni: "eth1");
        HealthyLedgerPod = AddPod(Ledger, Node(nodes >= 4 ? 4 : 1));
        AddPod(Redis, Node(1));
        // Their own generator, so that naming them draws nothing from the one the rest of the cluster is laid out with.
        var suffixRng = new SimRandom((ulong)(uint)seed ^ 0x5702_EF20_0000_0000UL);
        StorefrontBackends = Enumerable.Range(0, 3).Select(i => AddPod(Storefront, Node(1 + i % nodes), suffix: suffixRng.NextNamePart(5))).ToArray();
        FailingBackend = StorefrontBackends[1];
        foreach (var node in _nodes) AddPod(MetricsAgent, node);
        Spread(CoreDns, 2 * scale);
        Spread(Frontend, 3 * scale);
        Spread(Checkout, 2 * scale);
        Spread(Cart, 2 * scale);
        Spread(Inventory, 2 * scale - 1);
        Spread(Gateway, 2 * scale);

        for (var i = 0; i < 64; i++)
        {
            // A peered VPC's clients live in a few subnets (here two /24s), as application subnets do.
            _peeredClients.Add(new SimEndpoint(IpAddr.FromV4(172, 31, (byte)(PeeredClientSubnet + _rng.Next(256) % 2), (byte)(1 + i * 3 + _rng.Next(3))),
                SimEndpoint.Reserved(ReservedIdentity.World, "reserved:world"), null, null, 32768 + (uint)_rng.Next(20000)));
            _inVpcClients.Add(new SimEndpoint(IpAddr.FromV4(10, 0, 50, (byte)(10 + i * 3 + _rng.Next(3))),
                SimEndpoint.Reserved(ReservedIdentity.World, "reserved:world"), null, null, 32768 + (uint)_rng.Next(20000)));
        }
        PartnerApi = new SimEndpoint(IpAddr.FromV4(203, 0, 113, 10), SimEndpoint.Reserved(ReservedIdentity.World, "reserved:world"), null, null, 40000);
    }

    public int Seed { get; }
    public IReadOnlyList<SimNode> Nodes => _nodes;
    public IReadOnlyList<SimWorkload> Workloads => _workloads;
    /// <summary>Every pod Cilium manages (the unmanaged <see cref="UnmanagedPod"/> is not among them).</summary>
    public IReadOnlyList<SimPod> Pods => _pods;

    public SimWorkload CoreDns { get; }
    public SimWorkload MetricsAgent { get; }
    public SimWorkload Frontend { get; }
    public SimWorkload Storefront { get; }
    public SimWorkload Checkout { get; }
    public SimWorkload Cart { get; }
    public SimWorkload Inventory { get; }
    public SimWorkload Redis { get; }
    public SimWorkload LegacyBatch { get; }
    public SimWorkload Ledger { get; }
    public SimWorkload Gateway { get; }

    /// <summary>duplicate-ip: the managed shop/inventory pod on sim-node-3 at <see cref="DuplicateIp"/>.</summary>
    public SimPod DuplicateIpPod { get; }
    /// <summary>duplicate-ip: shop/legacy-batch, started before the agent, holding <see cref="DuplicateIp"/> too (only in the cluster while the scenario is on).</summary>
    public SimPod UnmanagedPod { get; }
    /// <summary>asymmetric: the payments/ledger pod whose IP sits on secondary ENI eth1.</summary>
    public SimPod AsymmetricPod { get; }
    /// <summary>asymmetric: the sibling ledger pod on the primary ENI, healthy for every client.</summary>
    public SimPod HealthyLedgerPod { get; }
    /// <summary>nodeport-backend: three web/storefront-&lt;hash&gt;-&lt;suffix&gt; pods, named as a Deployment's ReplicaSet names them.</summary>
    public IReadOnlyList<SimPod> StorefrontBackends { get; }
    /// <summary>nodeport-backend: the second backend, which refuses handshakes and answers 503 while the scenario is on.</summary>
    public SimPod FailingBackend { get; }

    public IReadOnlyList<SimEndpoint> PeeredClients => _peeredClients;
    public IReadOnlyList<SimEndpoint> InVpcClients => _inVpcClients;
    /// <summary>An API outside the cluster that payments/gateway calls (world identity).</summary>
    public SimEndpoint PartnerApi { get; }

    /// <summary>node-collapse: the node whose pods lose connectivity (sim-node-5, or the last node of a smaller cluster).</summary>
    public SimNode CollapsedNode => _nodes[Math.Min(5, _nodes.Count) - 1];

    /// <summary>The Cilium agent pod on a node (DaemonSet kube-system/cilium).</summary>
    public string AgentPod(SimNode node) => _agentPods[node.Number - 1];

    /// <summary>node-collapse: how long before the start the collapsed node's agent (re)started, before kube-proxy did.</summary>
    public static readonly TimeSpan CollapsedAgentAge = TimeSpan.FromMinutes(3);

    public SimNode Node(int number) => _nodes[number - 1];
    public SimEndpoint Host(SimNode node) => _hosts[node.Number - 1];
    public SimEndpoint RemoteNode(SimNode node) => _remoteNodes[node.Number - 1];
    public SimEndpoint HealthEndpoint(SimNode node) => _health[node.Number - 1];

    /// <summary>The unmanaged pod as flows show it: identity 3 (reserved:unmanaged), no pod name.</summary>
    public SimEndpoint UnmanagedEndpoint => _unmanagedEndpoint ??= new SimEndpoint(DuplicateIp,
        SimEndpoint.Reserved(ReservedIdentity.Unmanaged, "reserved:unmanaged"), Node(3), UnmanagedPod, 45000);
    private SimEndpoint? _unmanagedEndpoint;

    /// <summary>
    /// The fake cluster view a watcher of the API server would report at <paramref name="now"/> (the simulation's
    /// start): pods, CiliumEndpoints, agents, ENI addresses and the NodePort service with its backends.
    /// The scenarios' cluster-state facts are included only for the scenarios that are on.
    /// </summary>
    public IReadOnlyList<ClusterEvent> ClusterView(ScenarioSet scenarios, DateTimeOffset now)
    {
        var events = new List<ClusterEvent>();
        foreach (var node in _nodes)
        {
            var age = scenarios.Has(Scenario.NodeCollapse) && node == CollapsedNode && node.Number != 3 ? CollapsedAgentAge
                : node.Number == 3 ? YoungNodeAge : OldNodeAge;
            events.Add(new CiliumAgentState(node.Name, now - age, Pod: AgentPod(node)));
        }
        var pods = scenarios.Has(Scenario.DuplicateIp) ? _pods.Append(UnmanagedPod) : _pods;
        foreach (var pod in pods)
        {
            events.Add(new PodState(pod.Namespace, pod.Name, pod.Workload.Name, pod.Node.Name, pod.Ip, HostNetwork: false,
                "Running", Ready: true, now - pod.Age));
            if (pod.Managed) events.Add(new CiliumEndpointState(pod.Namespace, pod.Name, pod.Ip, pod.Node.Name));
            events.Add(new EniAddressState(pod.Node.Name, pod.Ip, pod.EniInterface, pod.OnPrimaryEni));
        }
        events.Add(new ServiceState(Storefront.Namespace, Storefront.Name, "NodePort",
            [new ServicePortState("http", "TCP", StorefrontServicePort, StorefrontNodePort, StorefrontTargetPort)]));
        events.Add(new ServiceBackendsState(Storefront.Namespace, Storefront.Name,
            StorefrontBackends.Select(p => new BackendState(p.Name, p.Ip, p.Node.Name, Ready: true)).ToArray()));
        return events;
    }

    private SimWorkload AddWorkload(string ns, string name, string kind, int port, string protocol, bool http,
        string? appLabel = null, string? serviceAccount = null, uint identity = 0, bool serviceIp = true)
    {
        if (identity == 0)
            do identity = (uint)_rng.Next(10_000, 65_000); while (!_identities.Add(identity));
        var labels = new List<string>
        {
            appLabel ?? $"k8s:app={name}",
            $"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name={ns}",
            $"k8s:io.cilium.k8s.policy.cluster={ClusterName}",
            $"k8s:io.cilium.k8s.policy.serviceaccount={serviceAccount ?? name}",
            $"k8s:io.kubernetes.pod.namespace={ns}",
        };
        labels.Sort(StringComparer.Ordinal);
        var ip = IpAddr.None;
        if (serviceIp)
        {
            if (name == "coredns") ip = IpAddr.FromV4(10, 96, 0, 10);
            else do ip = IpAddr.FromV4(10, 96, (byte)_rng.Next(1, 255), (byte)_rng.Next(1, 255)); while (!_serviceIps.Add(ip));
        }
        var workload = new SimWorkload(ns, name, kind, identity, port, protocol, http, labels, ip);
        workload.Hash = _rng.NextNamePart(10);
        workload.ServiceName = name == "coredns" ? "kube-dns" : name;
        _workloads.Add(workload);
        return workload;
    }

    private void Spread(SimWorkload workload, int replicas)
    {
        var start = _rng.Next(_nodes.Count);
        for (var i = 0; i < replicas; i++) AddPod(workload, _nodes[(start + i) % _nodes.Count]);
    }

    private SimPod AddPod(SimWorkload workload, SimNode node, IpAddr? ip = null, bool managed = true, string eni = "eth0", string? suffix = null)
    {
        var age = node.Number == 3
            ? TimeSpan.FromMinutes(_rng.Next(10, 110))
            : TimeSpan.FromMinutes(_rng.Next(60, 14 * 24 * 60));
        var pod = CreatePod(workload, node, ip ?? NextPodIp(node), managed, eni, age, suffix);
        workload.Add(pod);
        _pods.Add(pod);
        return pod;
    }

    private SimPod CreatePod(SimWorkload workload, SimNode node, IpAddr ip, bool managed, string eni, TimeSpan age, string? suffix = null)
    {
        var name = workload.Kind == "DaemonSet"
            ? $"{workload.Name}-{_rng.NextNamePart(5)}"
            : $"{workload.Name}-{workload.Hash}-{suffix ?? _rng.NextNamePart(5)}";
        var pod = new SimPod(workload, name, node, ip, managed ? (uint)_rng.Next(100, 4000) : 0, managed, eni, age);
        var proto = new Endpoint
        {
            ID = pod.EndpointId,
            Identity = workload.Identity,
            ClusterName = ClusterName,
            Namespace = workload.Namespace,
            Labels = { workload.Labels },
            PodName = name,
            Workloads = { new Workload { Name = workload.Name, Kind = workload.Kind } },
        };
        pod.Endpoint = new SimEndpoint(ip, proto, node, pod, 32768 + (uint)_rng.Next(25000));
        return pod;
    }

    private IpAddr NextPodIp(SimNode node)
    {
        var octet = _nextHostOctet[node.Number];
        if (node.Number == 3 && octet == 77) octet++;
        if (octet > 250) throw new InvalidOperationException($"{node.Name} ran out of pod addresses");
        _nextHostOctet[node.Number] = octet + 1 + _rng.Next(3);
        return IpAddr.FromV4(10, 1, (byte)node.Number, (byte)octet);
    }
}
