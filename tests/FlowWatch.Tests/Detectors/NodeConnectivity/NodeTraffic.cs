using FlowWatch.Detectors.Handshakes;
using FlowWatch.Detectors.NodeConnectivity;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using FlowWatch.Pipeline;
using FlowWatch.Tests.Detectors.Dns;
using Prometheus;

namespace FlowWatch.Tests.Detectors.NodeConnectivity;

/// <summary>A pod of the test cluster.</summary>
internal sealed record TestPod(string Node, string Namespace, string Name, string Workload, IpAddr Ip)
{
    public FlowEndpoint Endpoint { get; } = new(4000, Namespace, Name, Workload, "Deployment");
}

/// <summary>How one handshake of the generated traffic ends.</summary>
internal enum Shape { Completed, Timeout, PolicyDropped, Refused, None }

/// <summary>
/// Four nodes with four TCP workloads each (web, api, cache, worker), random pod-to-pod connections across nodes at a
/// steady rate, and a rule saying how each one ends; pushed through a pipeline running only the node-connectivity
/// detector in virtual time.
/// </summary>
internal sealed class NodeTraffic : IDisposable
{
    public static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    public static readonly string[] Nodes = ["node-1", "node-2", "node-3", "node-4"];
    public static readonly string[] WorkloadNames = ["web", "api", "cache", "worker"];
    public const string AgentPod = "cilium-x7k2p";

    private readonly List<FlowRecord> _flows = [];

    public NodeTraffic(NodeConnectivityOptions? options = null, bool clusterState = true)
    {
        for (var n = 0; n < Nodes.Length; n++)
            for (var w = 0; w < WorkloadNames.Length; w++)
                Pods.Add(new TestPod(Nodes[n], "shop", $"{WorkloadNames[w]}-{n + 1}", WorkloadNames[w], IpAddr.FromV4(10, 1, (byte)(n + 1), (byte)(10 + w))));
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Detector = new NodeConnectivityDetector(options, new HandshakeClassifier());
        Pipeline = new FlowPipeline([Detector], Prometheus.Metrics.WithCustomRegistry(Registry));
        Pipeline.Findings.Subscribe(Findings.Add);
        Pipeline.Start(T0);
        if (!clusterState) return;
        foreach (var p in Pods)
            Pipeline.Apply(new PodState(p.Namespace, p.Name, p.Workload, p.Node, p.Ip, false, "Running", true, T0.AddDays(-1)));
        foreach (var node in Nodes)
            Pipeline.Apply(new CiliumAgentState(node, T0.AddMinutes(-3), Pod: node == "node-3" ? AgentPod : "cilium-" + node));
    }

    public List<TestPod> Pods { get; } = [];
    public CollectorRegistry Registry { get; }
    public NodeConnectivityDetector Detector { get; }
    public FlowPipeline Pipeline { get; }
    public List<Finding> Findings { get; } = [];

    public IEnumerable<TestPod> On(string node) => Pods.Where(p => p.Node == node);

    /// <summary>Random cross-node connections every <paramref name="every"/> seconds over [from, to), ending as <paramref name="shape"/> says.</summary>
    public void Connections(double from, double to, Func<TestPod, TestPod, double, Shape> shape, double every = 0.05, int seed = 1)
    {
        var rng = new Random(seed);
        ushort port = (ushort)(20000 + seed * 1000);
        for (var t = from; t < to; t += every)
        {
            var client = Pods[rng.Next(Pods.Count)];
            TestPod server;
            do server = Pods[rng.Next(Pods.Count)]; while (server.Node == client.Node);
            port = (ushort)(port >= 60000 ? 20000 : port + 1);
            Handshake(t, client.Endpoint, client.Ip, client.Node, server, port, shape(client, server, t));
        }
    }

    /// <summary>One handshake of <paramref name="shape"/> from a client (a pod, or outside with an empty node) to a server pod.</summary>
    public void Handshake(double t, FlowEndpoint client, IpAddr clientIp, string clientNode, TestPod server, ushort port, Shape shape)
    {
        var s = server.Endpoint;
        switch (shape)
        {
            case Shape.Completed:
                Add(t, server.Node, client, clientIp, s, server.Ip, port, 8080, TcpFlags.Syn, ObservationPoint.ToEndpoint);
                Add(t + 0.001, clientNode.Length != 0 ? clientNode : server.Node, s, server.Ip, client, clientIp, 8080, port, TcpFlags.Syn | TcpFlags.Ack,
                    clientNode.Length != 0 ? ObservationPoint.ToEndpoint : ObservationPoint.FromEndpoint, reply: true);
                Add(t + 0.002, server.Node, client, clientIp, s, server.Ip, port, 8080, TcpFlags.Ack, ObservationPoint.ToEndpoint);
                break;
            case Shape.Timeout:
                // The SYN leaves the client's node and is never delivered; the client retransmits after 1 s and 3 s.
                foreach (var retry in new[] { 0.0, 1.0, 3.0 })
                    Add(t + retry, clientNode.Length != 0 ? clientNode : server.Node, client, clientIp, s, server.Ip, port, 8080, TcpFlags.Syn,
                        clientNode.Length != 0 ? ObservationPoint.FromEndpoint : ObservationPoint.FromNetwork);
                break;
            case Shape.PolicyDropped:
                foreach (var retry in new[] { 0.0, 1.0, 3.0 })
                    Add(t + retry, server.Node, client, clientIp, s, server.Ip, port, 8080, TcpFlags.Syn, ObservationPoint.Unknown,
                        verdict: Verdict.Dropped, dropReason: 133);
                break;
            case Shape.Refused:
                Add(t, server.Node, client, clientIp, s, server.Ip, port, 8080, TcpFlags.Syn, ObservationPoint.ToEndpoint);
                Add(t + 0.001, server.Node, s, server.Ip, client, clientIp, 8080, port, TcpFlags.Rst | TcpFlags.Ack, ObservationPoint.FromEndpoint, reply: true);
                break;
        }
    }

    public void Add(double t, string node, FlowEndpoint src, IpAddr srcIp, FlowEndpoint dst, IpAddr dstIp, ushort sport, ushort dport,
        TcpFlags flags, ObservationPoint point, bool reply = false, Verdict verdict = Verdict.Forwarded, int dropReason = 0) =>
        _flows.Add(new FlowRecord
        {
            TimeNanos = FlowRecord.ToNanos(T0.AddSeconds(t)),
            NodeName = node,
            Verdict = verdict,
            DropReason = dropReason,
            Kind = FlowKind.L3L4,
            EventType = verdict == Verdict.Dropped ? CiliumEventTypes.Drop : CiliumEventTypes.Trace,
            SourceIp = srcIp,
            DestinationIp = dstIp,
            Protocol = L4Protocol.Tcp,
            SourcePort = sport,
            DestinationPort = dport,
            TcpFlags = flags,
            Source = src,
            Destination = dst,
            Reply = reply ? ReplyState.Reply : ReplyState.Request,
            Direction = TrafficDirection.Ingress,
            ObservationPoint = point,
        });

    /// <summary>Pushes every flow added so far in time order, then lets event time run to <paramref name="until"/>.</summary>
    public void Run(double until)
    {
        foreach (var f in _flows.OrderBy(f => f.TimeNanos)) Pipeline.Process(f);
        _flows.Clear();
        Pipeline.AdvanceTo(T0.AddSeconds(until));
    }

    public IEnumerable<Finding> Opened => Findings.Where(f => f.State == FindingState.Open);

    public double FirstOpenedAt(string id) =>
        Findings.Where(f => f.Id == id && f.State == FindingState.Open).Select(f => (f.LastSeen - T0).TotalSeconds).DefaultIfEmpty(double.NaN).First();

    public double Gauge(string node) => MetricText.Value(Registry, "flowwatch_node_connectivity", ("node", node)) ?? double.NaN;

    public void Dispose() => Pipeline.Dispose();
}
