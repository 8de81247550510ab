using FlowWatch.Hubble.Proto.Flow;

namespace FlowWatch.Simulation;

/// <summary>Writes whole conversations (a TCP connection, a DNS lookup, a ping) as the flows Hubble would show for them.</summary>
/// <remarks>
/// Healthy shapes unless a scenario that is on says otherwise for the pod or client involved, so that with a
/// scenario on no healthy copy of the same traffic contradicts it. Times are event-time nanoseconds; each
/// conversation's flows strictly increase in time.
/// </remarks>
internal sealed class Conversations
{
    private const long Us = 1_000;
    private const long Ms = 1_000_000;
    private const long S = 1_000_000_000;

    /// <summary>Denied by FQDN policy for shop/checkout (dns-drops).</summary>
    public const string DeniedQuery = "api.payments-partner.example.";
    /// <summary>Asked by web/frontend and never answered (dns-drops).</summary>
    public const string UnansweredQuery = "recommendations.partner-cdn.example.";

    private static readonly TraceObservationPoint ToEndpoint = TraceObservationPoint.ToEndpoint;
    private static readonly TraceObservationPoint FromEndpoint = TraceObservationPoint.FromEndpoint;
    private static readonly TraceObservationPoint ToStack = TraceObservationPoint.ToStack;
    private static readonly TrafficDirection Ingress = TrafficDirection.Ingress;
    private static readonly TrafficDirection Egress = TrafficDirection.Egress;

    private readonly SimulatedCluster _c;
    private readonly ScenarioSet _on;
    private readonly SimRandom _rng;
    private readonly FlowFactory _f;
    private readonly (SimWorkload Client, SimWorkload Server, string Method, string Path)[] _httpCalls;
    private readonly (SimWorkload Client, SimWorkload Server)[] _tcpCalls;
    private readonly Dictionary<SimWorkload, DnsName[]> _names;
    private readonly SimWorkload[] _resolvers;
    private readonly SimPod[] _probed;
    private readonly SimPod[] _statsdClients;
    private readonly string[] _storefrontPaths = ["/", "/products", "/products/42", "/cart", "/static/app.js"];
    private readonly SimPod[] _collapsedServers, _collapsedClients, _otherServers, _otherClients;
    private long _t;

    /// <summary>node-collapse: event time (ns) from which, and until which, the collapsed node's pods are unreachable.</summary>
    public long CollapseFrom { get; set; } = long.MaxValue;
    public long CollapseUntil { get; set; } = long.MaxValue;

    public Conversations(SimulatedCluster cluster, ScenarioSet scenarios, SimRandom rng, FlowFactory factory)
    {
        _c = cluster;
        _on = scenarios;
        _rng = rng;
        _f = factory;
        _httpCalls =
        [
            (cluster.Frontend, cluster.Checkout, "POST", "/api/v1/checkout"),
            (cluster.Frontend, cluster.Cart, "GET", "/api/v1/cart"),
            (cluster.Frontend, cluster.Cart, "POST", "/api/v1/cart/items"),
            (cluster.Frontend, cluster.Inventory, "GET", "/api/v1/items"),
            (cluster.Storefront, cluster.Inventory, "GET", "/api/v1/stock"),
            (cluster.Storefront, cluster.Cart, "GET", "/api/v1/cart"),
            (cluster.Checkout, cluster.Inventory, "POST", "/api/v1/reservations"),
            (cluster.Checkout, cluster.Gateway, "POST", "/v1/payments"),
        ];
        _tcpCalls = [(cluster.Cart, cluster.Redis), (cluster.Checkout, cluster.Ledger), (cluster.Gateway, cluster.Ledger)];
        string Svc(SimWorkload w) => w.ServiceIp.ToString();
        _names = new Dictionary<SimWorkload, DnsName[]>
        {
            [cluster.Frontend] =
            [
                new(cluster.Checkout.ServiceFqdn, Svc(cluster.Checkout), "checkout.shop.web.svc.cluster.local."),
                new(cluster.Cart.ServiceFqdn, Svc(cluster.Cart), "cart.shop.web.svc.cluster.local."),
                new(cluster.Inventory.ServiceFqdn, Svc(cluster.Inventory), "inventory.shop.web.svc.cluster.local."),
            ],
            [cluster.Storefront] =
            [
                new(cluster.Cart.ServiceFqdn, Svc(cluster.Cart), "cart.shop.web.svc.cluster.local."),
                new(cluster.Inventory.ServiceFqdn, Svc(cluster.Inventory), null),
            ],
            [cluster.Checkout] =
            [
                new(cluster.Inventory.ServiceFqdn, Svc(cluster.Inventory), null),
                new(cluster.Gateway.ServiceFqdn, Svc(cluster.Gateway), "gateway.payments.shop.svc.cluster.local."),
                new(cluster.Ledger.ServiceFqdn, Svc(cluster.Ledger), "ledger.payments.shop.svc.cluster.local."),
            ],
            [cluster.Cart] = [new(cluster.Redis.ServiceFqdn, Svc(cluster.Redis), null)],
            [cluster.Gateway] =
            [
                new("api.payments-gateway.example.", cluster.PartnerApi.Ip, "api.payments-gateway.example.payments.svc.cluster.local."),
                new(cluster.Ledger.ServiceFqdn, Svc(cluster.Ledger), null),
            ],
        };
        _resolvers = [.. _names.Keys];
        _probed = [.. cluster.Pods.Where(p => p.Workload.Protocol == "TCP")];
        _statsdClients = [.. cluster.Pods.Where(p => p.Workload.Namespace != "kube-system")];
        // Pod-to-pod TCP across the collapsed node's boundary; the NodePort and ENI scenarios' pods stay out of it.
        bool Server(SimPod p) => p.Workload.Protocol == "TCP" && p.Workload != cluster.Storefront && p.Workload != cluster.Ledger
            && p.Workload != cluster.LegacyBatch;
        bool Client(SimPod p) => p.Workload.Namespace != "kube-system" && p.Workload != cluster.LegacyBatch;
        var x = cluster.CollapsedNode;
        _collapsedServers = [.. cluster.Pods.Where(p => p.Node == x && Server(p))];
        _collapsedClients = [.. cluster.Pods.Where(p => p.Node == x && Client(p))];
        _otherServers = [.. cluster.Pods.Where(p => p.Node != x && Server(p))];
        _otherClients = [.. cluster.Pods.Where(p => p.Node != x && Client(p))];
    }

    private bool Collapsed(SimNode node, long t) => _on.Has(Scenario.NodeCollapse) && node == _c.CollapsedNode && t >= CollapseFrom && t < CollapseUntil;

    // ---- background ---------------------------------------------------------------------------------------

    /// <summary>One call between two pods over TCP, through the HTTP proxy when the server has L7 visibility.</summary>
    public void PodHttp(long t)
    {
        var (client, server, method, path) = _httpCalls[_rng.Next(_httpCalls.Length)];
        PodConnection(t, _rng.Pick(client.Pods), _rng.Pick(server.Pods), method, path);
    }

    public void PodTcp(long t)
    {
        var (client, server) = _tcpCalls[_rng.Next(_tcpCalls.Length)];
        PodConnection(t, _rng.Pick(client.Pods), _rng.Pick(server.Pods), null, null);
    }

    /// <summary>A lookup by a random pod of a workload that resolves names (cart's are dropped while dns-drops is on).</summary>
    public void DnsLookup(long t) => DnsLookup(t, _rng.Pick(_rng.Pick(_resolvers).Pods));

    public void DnsLookup(long t, SimPod client)
    {
        _t = t;
        var names = _names[client.Workload];
        var name = names[_rng.Next(names.Length)];
        var server = _rng.Pick(_c.CoreDns.Pods).Endpoint;
        var c = client.Endpoint;
        var port = c.NextEphemeralPort();
        var dnsService = _f.ServiceOf(_c.CoreDns);
        if (_on.Has(Scenario.DnsDrops) && client.Workload == _c.Cart)
        {
            // An L3/L4 policy that forgot kube-dns: the datapath drops the query before any proxy sees it.
            _f.UdpDrop(_t, client.Node, c, server, port, 53, DropReason.PolicyDenied, Egress, dnsService);
            return;
        }
        if (name.Expansion is { } expansion && _rng.Chance(0.5))
            Lookup(client, server, port, expansion, 3, null, Verdict.Forwarded);
        Lookup(client, server, port, name.Query, 0, name.Answer, Verdict.Forwarded);
    }

    /// <summary>The kubelet's readiness probe: host to pod, replies seen going to the stack.</summary>
    public void Probe(long t)
    {
        _t = t;
        var pod = _rng.Pick(_probed);
        var host = _c.Host(pod.Node);
        var p = pod.Endpoint;
        var n = pod.Node;
        uint sp = host.NextEphemeralPort(), dp = (uint)pod.Workload.Port;
        _f.Tcp(_t, n, host, p, sp, dp, FlowFactory.Syn, ToEndpoint, Ingress, false);
        _f.Tcp(Step(20, 60), n, p, host, dp, sp, FlowFactory.SynAck, ToStack, Ingress, true);
        _f.Tcp(Step(20, 60), n, host, p, sp, dp, FlowFactory.Ack, ToEndpoint, Ingress, false);
        _f.Tcp(Step(5, 20), n, host, p, sp, dp, FlowFactory.PshAck, ToEndpoint, Ingress, false);
        _f.Tcp(Step(200, 900), n, p, host, dp, sp, FlowFactory.PshAck, ToStack, Ingress, true);
        _f.Tcp(Step(20, 60), n, host, p, sp, dp, FlowFactory.FinAck, ToEndpoint, Ingress, false);
        _f.Tcp(Step(20, 60), n, p, host, dp, sp, FlowFactory.FinAck, ToStack, Ingress, true);
        _f.Tcp(Step(20, 60), n, host, p, sp, dp, FlowFactory.Ack, ToEndpoint, Ingress, false);
    }

    /// <summary>Cilium's health check: the node pings its health endpoint.</summary>
    public void HealthPing(long t)
    {
        _t = t;
        var node = _rng.Pick(_c.Nodes);
        var host = _c.Host(node);
        var health = _c.HealthEndpoint(node);
        _f.Icmp(_t, node, host, health, 8, ToEndpoint, Ingress, false);
        _f.Icmp(Step(20, 80), node, health, host, 0, ToStack, Ingress, true);
    }

    /// <summary>A metrics datagram to the node-local agent (one-way UDP).</summary>
    public void Statsd(long t)
    {
        var pod = _rng.Pick(_statsdClients);
        var agent = _c.MetricsAgent.Pods[pod.Node.Number - 1].Endpoint;
        _f.Udp(t, pod.Node, pod.Endpoint, agent, pod.Endpoint.NextEphemeralPort(), (uint)_c.MetricsAgent.Port, ToEndpoint, Ingress, false);
    }

    /// <summary>payments/gateway calling the partner API outside the cluster (TLS, no L7): egress via the stack.</summary>
    public void WorldEgress(long t)
    {
        _t = t;
        var pod = _rng.Pick(_c.Gateway.Pods);
        var g = pod.Endpoint;
        var w = _c.PartnerApi;
        var n = pod.Node;
        uint sp = g.NextEphemeralPort(), dp = 443;
        _f.Tcp(_t, n, g, w, sp, dp, FlowFactory.Syn, ToStack, Egress, false);
        _f.Tcp(Step(8_000, 20_000), n, w, g, dp, sp, FlowFactory.SynAck, ToEndpoint, Egress, true);
        _f.Tcp(Step(20, 60), n, g, w, sp, dp, FlowFactory.Ack, ToStack, Egress, false);
        _f.Tcp(Step(20, 60), n, g, w, sp, dp, FlowFactory.PshAck, ToStack, Egress, false);
        _f.Tcp(Step(20_000, 80_000), n, w, g, dp, sp, FlowFactory.PshAck, ToEndpoint, Egress, true);
        _f.Tcp(Step(100, 500), n, g, w, sp, dp, FlowFactory.FinAck, ToStack, Egress, false);
        _f.Tcp(Step(8_000, 20_000), n, w, g, dp, sp, FlowFactory.FinAck, ToEndpoint, Egress, true);
        _f.Tcp(Step(20, 60), n, g, w, sp, dp, FlowFactory.Ack, ToStack, Egress, false);
    }

    /// <summary>A client outside the cluster (peered or in-VPC) to a ledger pod on 8443.</summary>
    public void ExternalLedger(long t) => ExternalLedger(t, _rng.Pick(_c.Ledger.Pods), RandomOutsideClient());

    /// <summary>A client outside the cluster to a storefront backend through NodePort 30080 (already translated).</summary>
    public void ExternalStorefront(long t) => ExternalStorefront(t, _rng.Pick(_c.StorefrontBackends), RandomOutsideClient());

    // ---- scenarios ---------------------------------------------------------------------------------------

    /// <summary>
    /// asymmetric: a peered client's SYN reaches the pod on the secondary ENI, its SYN-ACK leaves by the primary one and
    /// dies, the client retransmits the same SYN after ~1 s and ~3 s and never ACKs. Healthy otherwise.
    /// </summary>
    public void ExternalLedger(long t, SimPod pod, SimEndpoint client)
    {
        _t = t;
        var p = pod.Endpoint;
        var n = pod.Node;
        uint sp = client.NextEphemeralPort(), dp = (uint)pod.Workload.Port;
        var replyLost = _on.Has(Scenario.Asymmetric) && pod == _c.AsymmetricPod
            && SimulatedCluster.PeeredRange.Contains(client.Address);
        _f.Tcp(_t, n, client, p, sp, dp, FlowFactory.Syn, ToEndpoint, Ingress, false);
        _f.Tcp(Step(15, 50), n, p, client, dp, sp, FlowFactory.SynAck, FromEndpoint, Ingress, true);
        if (replyLost)
        {
            foreach (var retransmitAt in (ReadOnlySpan<long>)[1 * S, 3 * S])
            {
                _t = t + retransmitAt + _rng.Next(0, 30) * Ms;
                _f.Tcp(_t, n, client, p, sp, dp, FlowFactory.Syn, ToEndpoint, Ingress, false);
                _f.Tcp(Step(15, 50), n, p, client, dp, sp, FlowFactory.SynAck, FromEndpoint, Ingress, true);
            }
            return;
        }
        _f.Tcp(Step(800, 3_000), n, client, p, sp, dp, FlowFactory.Ack, ToEndpoint, Ingress, false);
        _f.Tcp(Step(20, 100), n, client, p, sp, dp, FlowFactory.PshAck, ToEndpoint, Ingress, false);
        _f.Tcp(Step(300, 2_000), n, p, client, dp, sp, FlowFactory.PshAck, FromEndpoint, Ingress, true);
        _f.Tcp(Step(800, 3_000), n, client, p, sp, dp, FlowFactory.PshAck, ToEndpoint, Ingress, false);
        _f.Tcp(Step(1_000, 8_000), n, p, client, dp, sp, FlowFactory.PshAck, FromEndpoint, Ingress, true);
        _f.Tcp(Step(800, 3_000), n, client, p, sp, dp, FlowFactory.FinAck, ToEndpoint, Ingress, false);
        _f.Tcp(Step(15, 50), n, p, client, dp, sp, FlowFactory.FinAck, FromEndpoint, Ingress, true);
        _f.Tcp(Step(800, 3_000), n, client, p, sp, dp, FlowFactory.Ack, ToEndpoint, Ingress, false);
    }

    /// <summary>nodeport-backend: backend -b resets most handshakes and answers 503 to the rest; the others answer 200.</summary>
    public void ExternalStorefront(long t, SimPod pod, SimEndpoint client)
    {
        _t = t;
        var p = pod.Endpoint;
        var n = pod.Node;
        uint sp = client.NextEphemeralPort(), dp = (uint)pod.Workload.Port;
        var failing = _on.Has(Scenario.NodePortBackend) && pod == _c.FailingBackend;
        // kube-proxy translated the address before Cilium saw it; only some flows keep the service.
        var svc = _rng.Chance(0.3) ? _f.ServiceOf(_c.Storefront) : null;
        _f.Tcp(_t, n, client, p, sp, dp, FlowFactory.Syn, ToEndpoint, Ingress, false, null, svc);
        if (failing && _rng.Chance(0.75))
        {
            _f.Tcp(Step(15, 50), n, p, client, dp, sp, FlowFactory.RstAck, FromEndpoint, Ingress, true, svc);
            return;
        }
        _f.Tcp(Step(15, 50), n, p, client, dp, sp, FlowFactory.SynAck, FromEndpoint, Ingress, true, svc);
        _f.Tcp(Step(800, 3_000), n, client, p, sp, dp, FlowFactory.Ack, ToEndpoint, Ingress, false, null, svc);
        _f.Tcp(Step(20, 100), n, client, p, sp, dp, FlowFactory.PshAck, ToEndpoint, Ingress, false, null, svc);
        var url = "http://shop.example.com" + _storefrontPaths[_rng.Next(_storefrontPaths.Length)];
        _f.Http(Step(20, 60), n, client, p, sp, dp, false, _f.HttpRecord("GET", url, 0), 0, Ingress, null, svc);
        var latency = failing ? _rng.Next(1, 5) * Ms : _rng.Next(2, 40) * Ms;
        _f.Http(_t += latency, n, p, client, dp, sp, true, _f.HttpRecord("GET", url, failing ? 503u : 200u), latency, Ingress, svc);
        _f.Tcp(Step(20, 60), n, p, client, dp, sp, FlowFactory.PshAck, FromEndpoint, Ingress, true, svc);
        _f.Tcp(Step(800, 3_000), n, client, p, sp, dp, FlowFactory.FinAck, ToEndpoint, Ingress, false, null, svc);
        _f.Tcp(Step(15, 50), n, p, client, dp, sp, FlowFactory.FinAck, FromEndpoint, Ingress, true, svc);
        _f.Tcp(Step(800, 3_000), n, client, p, sp, dp, FlowFactory.Ack, ToEndpoint, Ingress, false, null, svc);
    }

    /// <summary>nodeport-backend driver: outside clients spread over the three backends.</summary>
    public void StorefrontVisit(long t) => ExternalStorefront(t);

    /// <summary>asymmetric driver: a peered client of the pod on the secondary ENI, an in-VPC client of it, a peered client of its sibling.</summary>
    public void LedgerVisit(long t, int kind)
    {
        switch (kind % 3)
        {
            case 0: ExternalLedger(t, _c.AsymmetricPod, _rng.Pick(_c.PeeredClients)); break;
            case 1: ExternalLedger(t, _c.AsymmetricPod, _rng.Pick(_c.InVpcClients)); break;
            default: ExternalLedger(t, _c.HealthyLedgerPod, _rng.Pick(_c.PeeredClients)); break;
        }
    }

    /// <summary>
    /// node-collapse driver: a call into the collapsed node's pods from another node, or out of them, alternately, so the
    /// node carries traffic in both directions at any rate; healthy before the collapse and after the agent restart.
    /// </summary>
    public void CollapsedNodeCall(long t, int run)
    {
        if (run % 2 == 0 && _collapsedServers.Length > 0 && _otherClients.Length > 0)
            PodConnection(t, _rng.Pick(_otherClients), _rng.Pick(_collapsedServers), null, null);
        else if (_collapsedClients.Length > 0 && _otherServers.Length > 0)
            PodConnection(t, _rng.Pick(_collapsedClients), _rng.Pick(_otherServers), null, null);
    }

    /// <summary>dns-drops: shop/checkout asks for a name its FQDN policy denies; the proxy drops it and answers REFUSED.</summary>
    public void DeniedLookup(long t)
    {
        _t = t;
        var client = _rng.Pick(_c.Checkout.Pods);
        var c = client.Endpoint;
        var server = _rng.Pick(_c.CoreDns.Pods).Endpoint;
        var port = c.NextEphemeralPort();
        var svc = _f.ServiceOf(_c.CoreDns);
        _f.Udp(_t, client.Node, c, server, port, 53, TraceObservationPoint.ToProxy, Egress, false, null, svc);
        _f.Dns(Step(10, 40), client.Node, c, server, port, 53, false, _f.DnsRecord(DeniedQuery, 0, null), Verdict.Dropped, 0, null, svc);
        var latency = _rng.Next(20, 120) * Us;
        _f.Dns(_t += latency, client.Node, server, c, 53, port, true, _f.DnsRecord(DeniedQuery, 5, null), Verdict.Forwarded, latency, svc);
        _f.Udp(Step(5, 20), client.Node, server, c, 53, port, ToEndpoint, Egress, true, svc);
    }

    /// <summary>dns-drops: shop/cart's lookups, dropped in the datapath while the scenario is on.</summary>
    public void CartLookup(long t) => DnsLookup(t, _rng.Pick(_c.Cart.Pods));

    /// <summary>dns-drops: web/frontend asks for a name whose upstream never answers.</summary>
    public void UnansweredLookup(long t)
    {
        _t = t;
        var client = _rng.Pick(_c.Frontend.Pods);
        var c = client.Endpoint;
        var server = _rng.Pick(_c.CoreDns.Pods).Endpoint;
        var port = c.NextEphemeralPort();
        var svc = _f.ServiceOf(_c.CoreDns);
        _f.Udp(_t, client.Node, c, server, port, 53, TraceObservationPoint.ToProxy, Egress, false, null, svc);
        _f.Dns(Step(10, 40), client.Node, c, server, port, 53, false, _f.DnsRecord(UnansweredQuery, 0, null), Verdict.Forwarded, 0, null, svc);
    }

    /// <summary>
    /// duplicate-ip: the unmanaged legacy-batch pod (10.1.3.77) talks to redis. Cilium sees identity 3 and no pod; now and
    /// then a stale ipcache entry on redis's node names the legacy-batch pod instead.
    /// </summary>
    public void LegacyBatch(long t)
    {
        _t = t;
        var redis = _c.Redis.Pods[0];
        var r = redis.Endpoint;
        var n = redis.Node;
        var legacy = n != _c.UnmanagedPod.Node && _rng.Chance(0.15) ? _c.UnmanagedPod.Endpoint : _c.UnmanagedEndpoint;
        // One port sequence for both attributions: they are the same socket table.
        uint sp = _c.UnmanagedEndpoint.NextEphemeralPort(), dp = (uint)redis.Workload.Port;
        var svc = _f.ServiceOf(_c.Redis);
        _f.Tcp(_t, n, legacy, r, sp, dp, FlowFactory.Syn, ToEndpoint, Ingress, false, null, svc);
        _f.Tcp(Step(15, 50), n, r, legacy, dp, sp, FlowFactory.SynAck, FromEndpoint, Ingress, true, svc);
        _f.Tcp(Step(100, 400), n, legacy, r, sp, dp, FlowFactory.Ack, ToEndpoint, Ingress, false, null, svc);
        _f.Tcp(Step(20, 60), n, legacy, r, sp, dp, FlowFactory.PshAck, ToEndpoint, Ingress, false, null, svc);
        _f.Tcp(Step(50, 300), n, r, legacy, dp, sp, FlowFactory.PshAck, FromEndpoint, Ingress, true, svc);
        _f.Tcp(Step(100, 400), n, legacy, r, sp, dp, FlowFactory.FinAck, ToEndpoint, Ingress, false, null, svc);
        _f.Tcp(Step(15, 50), n, r, legacy, dp, sp, FlowFactory.FinAck, FromEndpoint, Ingress, true, svc);
        _f.Tcp(Step(100, 400), n, legacy, r, sp, dp, FlowFactory.Ack, ToEndpoint, Ingress, false, null, svc);
    }

    // ---- shapes -------------------------------------------------------------------------------------------

    private void PodConnection(long t, SimPod client, SimPod server, string? method, string? path)
    {
        _t = t;
        var c = client.Endpoint;
        var s = server.Endpoint;
        SimNode cn = client.Node, sn = server.Node;
        uint sp = c.NextEphemeralPort(), dp = (uint)server.Workload.Port;
        var svc = _f.ServiceOf(server.Workload);
        if (Collapsed(cn, t) || Collapsed(sn, t))
        {
            // kube-proxy's rules ahead of Cilium's on the collapsed node: the SYN leaves the client's pod and is never
            // delivered (nor answered); the client retransmits it after ~1 s and ~3 s and gives up.
            foreach (var at in (ReadOnlySpan<long>)[0, 1 * S, 3 * S])
            {
                _t = t + at + (at == 0 ? 0 : _rng.Next(0, 30) * Ms);
                _f.Tcp(_t, cn, c, s, sp, dp, FlowFactory.Syn, FromEndpoint, Egress, false, null, svc);
            }
            return;
        }
        var hop = cn == sn ? 10 : 60;
        _f.Tcp(_t, sn, c, s, sp, dp, FlowFactory.Syn, ToEndpoint, Ingress, false, null, svc);
        _f.Tcp(Step(hop, hop * 3), cn, s, c, dp, sp, FlowFactory.SynAck, ToEndpoint, Egress, true, svc);
        _f.Tcp(Step(hop, hop * 3), sn, c, s, sp, dp, FlowFactory.Ack, ToEndpoint, Ingress, false, null, svc);
        _f.Tcp(Step(5, 30), cn, c, s, sp, dp, FlowFactory.PshAck, FromEndpoint, Egress, false, null, svc);
        _f.Tcp(Step(hop, hop * 3), sn, c, s, sp, dp, FlowFactory.PshAck, ToEndpoint, Ingress, false, null, svc);
        long latency = _rng.Next(500, 25_000) * Us;
        if (method is not null && server.Workload.Http)
        {
            var url = $"http://{server.Workload.Name}.{server.Namespace}:{dp}{path}";
            _f.Http(Step(10, 40), sn, c, s, sp, dp, false, _f.HttpRecord(method, url, 0), 0, Ingress, null, svc);
            _f.Http(_t += latency, sn, s, c, dp, sp, true, _f.HttpRecord(method, url, 200), latency, Ingress, svc);
        }
        else _t += latency;
        _f.Tcp(Step(10, 40), sn, s, c, dp, sp, FlowFactory.PshAck, FromEndpoint, Ingress, true, svc);
        _f.Tcp(Step(hop, hop * 3), cn, s, c, dp, sp, FlowFactory.PshAck, ToEndpoint, Egress, true, svc);
        _f.Tcp(Step(50, 400), sn, c, s, sp, dp, FlowFactory.FinAck, ToEndpoint, Ingress, false, null, svc);
        _f.Tcp(Step(hop, hop * 3), cn, s, c, dp, sp, FlowFactory.FinAck, ToEndpoint, Egress, true, svc);
        _f.Tcp(Step(hop, hop * 3), sn, c, s, sp, dp, FlowFactory.Ack, ToEndpoint, Ingress, false, null, svc);
    }

    /// <summary>One query through the DNS proxy: to-proxy, the L7 request, the L7 answer, the answer delivered.</summary>
    private void Lookup(SimPod client, SimEndpoint server, uint port, string query, uint rcode, string? answer, Verdict verdict)
    {
        var c = client.Endpoint;
        var n = client.Node;
        var svc = _f.ServiceOf(_c.CoreDns);
        _f.Udp(Step(1, 10), n, c, server, port, 53, TraceObservationPoint.ToProxy, Egress, false, null, svc);
        _f.Dns(Step(10, 40), n, c, server, port, 53, false, _f.DnsRecord(query, 0, null), verdict, 0, null, svc);
        var latency = _rng.Next(200, 3_000) * Us;
        _f.Dns(_t += latency, n, server, c, 53, port, true, _f.DnsRecord(query, rcode, answer), Verdict.Forwarded, latency, svc);
        _f.Udp(Step(5, 20), n, server, c, 53, port, ToEndpoint, Egress, true, svc);
    }

    private SimEndpoint RandomOutsideClient() => _rng.Chance(0.5) ? _rng.Pick(_c.PeeredClients) : _rng.Pick(_c.InVpcClients);

    /// <summary>Advances the conversation's clock by a random number of microseconds and returns it.</summary>
    private long Step(int minUs, int maxUs) => _t += _rng.Next(minUs, maxUs + 1) * Us;
}
