using System.Reactive.Linq;
using FlowWatch.Detectors.Common;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;

namespace FlowWatch.Detectors.NodeConnectivity;

/// <summary>Finds a node whose pods lost their connectivity (the iptables ordering race between kube-proxy and Cilium).</summary>
/// <remarks>
/// <para>
/// Reads the shared handshake classifier. Each handshake whose client is a pod or outside the cluster (node-local
/// probes and health checks take another path and are left out) counts for the server pod's node as "in" and, when
/// the client is a pod on another node, for the client's node as "out": completed, or failed when it timed out or its
/// SYN or reply was lost. Refusals (the application answered) and policy drops (Cilium said why) say nothing about the
/// node. A pod's node comes from cluster state, else from the flows that deliver to it (TO_ENDPOINT) or leave it
/// (FROM_ENDPOINT), kept in a bounded LRU.
/// </para>
/// <para>
/// Every <see cref="NodeConnectivityOptions.EvaluateEvery"/> each node's window is judged against the rest of the
/// cluster's by <see cref="NodeConnectivityPolicy"/>; a collapse raises one Critical <see cref="FindingKind.NodeConnectivity"/>
/// finding for the node (not one per pod), which resolves as soon as its handshakes complete again.
/// </para>
/// </remarks>
public sealed class NodeConnectivityDetector : IDetector
{
    private const int SamplePeers = 6;

    private readonly NodeConnectivityOptions _options;
    private readonly HandshakeClassifierLease _classifier;
    private readonly BoundedLru<string, NodeState> _nodes;
    private readonly BoundedLru<IpAddr, string> _podNodes;
    private readonly BoundedLru<string, AgentInfo> _agents;
    private readonly RollingCounters _cluster;
    private readonly List<IDisposable> _subscriptions = [];
    private NodeConnectivityMetrics? _metrics;
    private FindingTracker? _tracker;
    private DateTimeOffset _now;
    private long _reportedLocationEvictions, _workloadEvictions, _reportedWorkloadEvictions;

    public NodeConnectivityDetector(NodeConnectivityOptions? options = null, HandshakeClassifier? classifier = null)
    {
        _options = options ?? new NodeConnectivityOptions();
        _options.Validate();
        _classifier = new HandshakeClassifierLease(classifier);
        _nodes = new BoundedLru<string, NodeState>(_options.MaxNodes, (_, n) => { _metrics?.Detach(n); _metrics?.Evicted("node"); },
            StringComparer.Ordinal);
        _podNodes = new BoundedLru<IpAddr, string>(_options.MaxPodLocations);
        _agents = new BoundedLru<string, AgentInfo>(_options.MaxNodes, comparer: StringComparer.Ordinal);
        _cluster = new RollingCounters(_options.Window, _options.Bucket, 2);
    }

    public string Name => "node-connectivity";

    /// <summary>Reads each flow in its observer and keeps only values (interned names, numbers), never the record.</summary>
    public bool KeepsRecords => false;

    /// <summary>Nodes tracked now.</summary>
    public int NodeCount => _nodes.Count;

    /// <summary>The current verdict of a node (for tests and reports).</summary>
    public NodeVerdict VerdictOf(string node) =>
        _nodes.TryPeek(node, out var n) ? NodeConnectivityPolicy.Judge(CountsOf(n), _options, n.Open) : NodeVerdict.NoTraffic;

    public IObservable<Finding> Attach(DetectorContext context)
    {
        _tracker = new FindingTracker(context.Scheduler, _options.QuietPeriod);
        _metrics = new NodeConnectivityMetrics(context.Metrics);
        _now = context.Scheduler.Now;
        _subscriptions.Add(_classifier.Attach(context).Subscribe(OnHandshake));
        _subscriptions.Add(context.Flows.Subscribe(Learn));
        _subscriptions.Add(context.Cluster.Subscribe(OnCluster));
        _subscriptions.Add(Observable.Interval(_options.EvaluateEvery, context.Scheduler).Subscribe(_ => Evaluate(context.Scheduler.Now)));
        return _tracker.Findings;
    }

    private void OnCluster(ClusterEvent e)
    {
        switch (e)
        {
            case PodState p when p.Ip != IpAddr.None && p.Node.Length != 0 && !p.HostNetwork:
                if (p.Deleted) _podNodes.Remove(p.Ip);
                else _podNodes.Set(p.Ip, p.Node);
                break;
            case CiliumAgentState a when a.Node.Length != 0:
                if (a.Deleted) _agents.Remove(a.Node);
                else _agents.Set(a.Node, new AgentInfo(a.Pod, a.ReadySince));
                break;
        }
    }

    /// <summary>Where pods live, from the flows that deliver into a pod or leave one: Hubble names the observing node.</summary>
    private void Learn(FlowRecord f)
    {
        if (f.NodeName.Length == 0) return;
        if (f.ObservationPoint == ObservationPoint.ToEndpoint && f.Destination.IsPod) Place(f.DestinationIp, f.NodeName);
        else if (f.ObservationPoint == ObservationPoint.FromEndpoint && f.Source.IsPod) Place(f.SourceIp, f.NodeName);
    }

    private void Place(IpAddr ip, string node)
    {
        if (_podNodes.TryGet(ip, out var known) && ReferenceEquals(known, node)) return;
        if (known != node) _podNodes.Set(ip, node);
    }

    private void OnHandshake(ClassifiedHandshake h)
    {
        var failed = h.Outcome is HandshakeOutcome.Timeout or HandshakeOutcome.IngressLost or HandshakeOutcome.ReplyLost;
        if (!failed && h.Outcome != HandshakeOutcome.Completed) return;
        var client = h.Client;
        if (!client.IsPod && client.Identity is ReservedIdentity.Host or ReservedIdentity.RemoteNode or ReservedIdentity.Health
                or ReservedIdentity.KubeApiServer) return;
        if (h.DecidedAt > _now) _now = h.DecidedAt;

        var serverNode = _podNodes.TryGet(h.ServerIp, out var sn) ? sn : h.SynReachedPod && h.Node.Length != 0 ? h.Node : null;
        var clientNode = client.IsPod && _podNodes.TryGet(h.ClientIp, out var cn) ? cn : null;
        if (serverNode is null && clientNode is null) return;
        _cluster.Add(h.DecidedAt, failed ? 1 : 0);
        if (serverNode is not null)
            Count(serverNode, NodeDirection.In, failed, h.DecidedAt, h.ServerNamespace, h.ServerWorkload,
                failed ? (client.IsPod ? client.Display : h.ClientIp.ToString()) : null, clientNode);
        if (clientNode is not null && clientNode != serverNode)
            Count(clientNode, NodeDirection.Out, failed, h.DecidedAt, client.Namespace, client.Workload,
                failed ? (h.ServerPod.Length != 0 ? $"{h.ServerNamespace}/{h.ServerPod}" : h.ServerIp.ToString()) : null, serverNode);
    }

    private void Count(string nodeName, NodeDirection direction, bool failed, DateTimeOffset at, string ns, string workload, string? peer,
        string? peerNode)
    {
        var node = _nodes.GetOrAdd(nodeName, name =>
        {
            var n = new NodeState(name, _options);
            _metrics?.Attach(n);
            return n;
        });
        node.LastSeen = at;
        var slot = NodeState.Slot(direction, failed);
        node.Counts.Add(at, slot);
        node.Past.Add(at, failed ? 1 : 0);
        node.Handshakes?[slot].Inc();
        if (workload.Length != 0)
        {
            var before = node.Workloads.Evicted;
            var w = node.Workloads.GetOrAdd((ns, workload), _ => new RollingCounters(_options.Window, _options.Bucket, 2));
            w.Add(at, failed ? 1 : 0);
            _workloadEvictions += node.Workloads.Evicted - before;
        }
        if (peer is not null) node.FailingPeers.Set(peer, at);
        if (failed && peerNode is not null && peerNode != nodeName) node.FailingPeerNodes.Set(peerNode, at);
    }

    private NodeCounts CountsOf(NodeState n)
    {
        n.Counts.AdvanceTo(_now);
        int failing = 0, active = 0;
        foreach (var (_, w) in n.Workloads.Entries)
        {
            w.AdvanceTo(_now);
            var total = w.Total(0) + w.Total(1);
            if (total < 2) continue;
            active++;
            if ((double)w.Total(1) / total >= _options.CollapseRatio) failing++;
        }
        var since = _now - _options.Window;
        var peers = 0;
        foreach (var (_, at) in n.FailingPeers.Entries)
            if (at > since) peers++;
        var peerNodes = 0;
        foreach (var (_, at) in n.FailingPeerNodes.Entries)
            if (at > since) peerNodes++;
        _cluster.AdvanceTo(_now);
        long inTotal = n.Total(NodeDirection.In), inFailed = n.Failed(NodeDirection.In);
        long outTotal = n.Total(NodeDirection.Out), outFailed = n.Failed(NodeDirection.Out);
        var elsewhereTotal = Math.Max(0, _cluster.Total(0) + _cluster.Total(1) - inTotal - outTotal);
        var elsewhereFailed = Math.Max(0, _cluster.Total(1) - inFailed - outFailed);
        // The past before the window: the long window less the short one it contains.
        n.Past.AdvanceTo(_now);
        var pastTotal = Math.Max(0, n.Past.Total(0) + n.Past.Total(1) - inTotal - outTotal);
        var pastFailed = Math.Max(0, n.Past.Total(1) - inFailed - outFailed);
        return new NodeCounts(inTotal, inFailed, outTotal, outFailed, failing, active, peers, elsewhereTotal, elsewhereFailed,
            pastTotal, pastFailed, peerNodes);
    }

    private void Evaluate(DateTimeOffset now)
    {
        if (now > _now) _now = now;
        foreach (var (name, node) in _nodes.Entries.ToList())
        {
            var counts = CountsOf(node);
            var verdict = NodeConnectivityPolicy.Judge(counts, _options, node.Open);
            node.Gauge?.Set(verdict switch { NodeVerdict.Collapsed => 0, NodeVerdict.Connected => 1, _ => -1 });
            if (verdict == NodeVerdict.Collapsed)
            {
                node.Open = true;
                _tracker!.Report(NodeConnectivityText.Collapse(name, counts, SamplePeersOf(node), FailingWorkloadsOf(node),
                    _agents.TryPeek(name, out var agent) ? agent : null, _options, _now));
            }
            else if (node.Open && verdict == NodeVerdict.Connected)
            {
                node.Open = false;
                _tracker!.Resolve($"node_connectivity/{name}");
            }
            else if (node.Open && verdict == NodeVerdict.NoTraffic) node.Open = false; // the tracker's quiet period resolves it
        }
        _metrics?.Evicted("pod_location", _podNodes.Evicted - _reportedLocationEvictions);
        _reportedLocationEvictions = _podNodes.Evicted;
        _metrics?.Evicted("workload", _workloadEvictions - _reportedWorkloadEvictions);
        _reportedWorkloadEvictions = _workloadEvictions;
    }

    private List<string> SamplePeersOf(NodeState n)
    {
        var list = new List<string>(SamplePeers);
        foreach (var (peer, _) in n.FailingPeers.Entries.Reverse())
        {
            list.Add(peer);
            if (list.Count == SamplePeers) break;
        }
        return list;
    }

    private List<string> FailingWorkloadsOf(NodeState n)
    {
        var list = new List<string>();
        foreach (var ((ns, workload), w) in n.Workloads.Entries)
        {
            var total = w.Total(0) + w.Total(1);
            if (total >= 2 && (double)w.Total(1) / total >= _options.CollapseRatio) list.Add($"{ns}/{workload}");
        }
        list.Sort(StringComparer.Ordinal);
        return list;
    }

    public void Dispose()
    {
        foreach (var s in _subscriptions) s.Dispose();
        _subscriptions.Clear();
        _tracker?.Dispose();
        _classifier.Dispose();
    }
}
