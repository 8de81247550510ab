using Prometheus;

namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>The duplicate-IP detector's Prometheus series; node label values are bounded.</summary>
internal sealed class DuplicateIpMetrics
{
    private readonly Gauge _unmanaged;
    private readonly Dictionary<string, Gauge.Child> _byNode = new(StringComparer.Ordinal);
    private readonly int _maxNodes;

    public DuplicateIpMetrics(IMetricFactory factory, int maxNodes)
    {
        _maxNodes = maxNodes;
        DuplicateIps = factory.CreateGauge("flowwatch_duplicate_ips", "IPs currently claimed by two or more pods.");
        _unmanaged = factory.CreateGauge("flowwatch_unmanaged_pods",
            "Pod IPs currently used by a pod Cilium does not manage, by node.",
            new GaugeConfiguration { LabelNames = ["node"] });
        var evicted = factory.CreateCounter("flowwatch_ip_map_evicted_total",
            "Duplicate-IP detector state shed to stay within bounds, by reason (ip_map_full, cluster_state_full, node_labels).",
            new CounterConfiguration { LabelNames = ["reason"] });
        IpMapEvicted = evicted.WithLabels("ip_map_full");
        ClusterStateShed = evicted.WithLabels("cluster_state_full");
        NodeLabelOverflow = evicted.WithLabels("node_labels");
        DuplicateIps.Set(0);
    }

    public Gauge DuplicateIps { get; }
    public Counter.Child IpMapEvicted { get; }
    public Counter.Child ClusterStateShed { get; }
    public Counter.Child NodeLabelOverflow { get; }

    /// <summary>Sets every node's gauge: the given counts, and zero for nodes that had some before.</summary>
    public void SetUnmanaged(Dictionary<string, int> byNode)
    {
        foreach (var child in _byNode.Values) child.Set(0);
        foreach (var (node, count) in byNode) Child(node).Inc(count);
    }

    private Gauge.Child Child(string node)
    {
        if (node.Length == 0) node = "unknown";
        if (_byNode.TryGetValue(node, out var c)) return c;
        if (_byNode.Count >= _maxNodes)
        {
            NodeLabelOverflow.Inc();
            node = "other";
            if (_byNode.TryGetValue(node, out c)) return c;
        }
        return _byNode[node] = _unmanaged.WithLabels(node);
    }
}
