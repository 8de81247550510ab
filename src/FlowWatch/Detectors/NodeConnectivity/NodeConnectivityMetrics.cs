using Prometheus;

namespace FlowWatch.Detectors.NodeConnectivity;

/// <summary>The node-connectivity detector's metrics, labelled by node only (bounded by the cluster's nodes and <see cref="NodeConnectivityOptions.MaxNodes"/>).</summary>
internal sealed class NodeConnectivityMetrics
{
    private static readonly string[] Outcomes = ["completed", "failed"];
    private static readonly string[] Directions = ["in", "out"];

    private readonly Gauge _state;
    private readonly Counter _handshakes;
    private readonly Counter _evictions;

    public NodeConnectivityMetrics(IMetricFactory factory)
    {
        _state = factory.CreateGauge("flowwatch_node_connectivity",
            "Pod connectivity of each node from the handshakes to and from its pods: 1 connected, 0 collapsed, -1 too little traffic to judge.",
            new GaugeConfiguration { LabelNames = ["node"] });
        _handshakes = factory.CreateCounter("flowwatch_node_handshakes_total",
            "TCP handshakes to (in) and from (out) each node's pods, completed or failed (timeout, SYN or reply lost).",
            new CounterConfiguration { LabelNames = ["node", "direction", "outcome"] });
        _evictions = factory.CreateCounter("flowwatch_node_connectivity_evictions_total",
            "Node-connectivity state shed at its bounds (reason node, pod_location, workload).",
            new CounterConfiguration { LabelNames = ["reason"] });
        foreach (var r in (string[])["node", "pod_location", "workload"]) _evictions.WithLabels(r);
    }

    public void Attach(NodeState node)
    {
        node.Gauge = _state.WithLabels(node.Name);
        node.Gauge.Set(-1);
        node.Handshakes = new Counter.Child[NodeState.Slots];
        for (var d = 0; d < 2; d++)
            for (var o = 0; o < 2; o++)
                node.Handshakes[d * 2 + o] = _handshakes.WithLabels(node.Name, Directions[d], Outcomes[o]);
    }

    public void Detach(NodeState node)
    {
        node.Gauge?.Remove();
        if (node.Handshakes is not null) foreach (var c in node.Handshakes) c.Remove();
    }

    public void Evicted(string reason, long n = 1)
    {
        if (n > 0) _evictions.WithLabels(reason).Inc(n);
    }
}
