using Prometheus;

namespace FlowWatch.Detectors.Dns;

/// <summary>The DNS detector's Prometheus series, with a bounded set of (namespace, workload) label pairs.</summary>
internal sealed class DnsMetrics
{
    internal const string Other = "other";

    /// <summary>Label children of one (namespace, workload) pair, created on first use.</summary>
    internal sealed class Children(string ns, string workload)
    {
        public readonly string Namespace = ns;
        public readonly string Workload = workload;
        public readonly Counter.Child?[] Drops = new Counter.Child?[DnsDropReason.Count];
        public readonly Counter.Child?[] Answers = new Counter.Child?[DnsRcodes.Count];
    }

    private readonly Counter _dropped;
    private readonly Counter _answers;
    private readonly Counter _evicted;
    private readonly Dictionary<WorkloadKey, Children> _children = new();
    private readonly Dictionary<string, Children> _overflow = new(StringComparer.Ordinal);
    private readonly HashSet<string> _labelledNamespaces = new(StringComparer.Ordinal);
    private readonly int _capacity;

    public DnsMetrics(IMetricFactory factory, int maxWorkloadLabels)
    {
        _capacity = maxWorkloadLabels;
        _dropped = factory.CreateCounter("flowwatch_dns_lookups_dropped_total",
            "DNS lookups lost, by client workload and reason (policy_denied_proxy, datapath_policy_denied, datapath_other, no_answer).",
            new CounterConfiguration { LabelNames = ["namespace", "workload", "reason"] });
        _answers = factory.CreateCounter("flowwatch_dns_answers_total",
            "DNS answers seen by Cilium's DNS proxy, by client workload and rcode (NXDOMAIN is an answer, not a drop).",
            new CounterConfiguration { LabelNames = ["namespace", "workload", "rcode"] });
        Pending = factory.CreateGauge("flowwatch_dns_pending_requests",
            "DNS requests still waiting for an answer: forwarded by the proxy, or seen leaving a pod for port 53 (datapath, by 5-tuple).");
        _evicted = factory.CreateCounter("flowwatch_dns_evicted_total",
            "DNS detector state shed to stay within bounds, by reason (pending_full, datapath_full, workloads_full, pods_full, workload_labels).",
            new CounterConfiguration { LabelNames = ["reason"] });
        PendingEvicted = _evicted.WithLabels("pending_full");
        DatapathEvicted = _evicted.WithLabels("datapath_full");
        WorkloadsEvicted = _evicted.WithLabels("workloads_full");
        PodsEvicted = _evicted.WithLabels("pods_full");
        LabelOverflow = _evicted.WithLabels("workload_labels");
    }

    public Gauge Pending { get; }
    public Counter.Child PendingEvicted { get; }
    /// <summary>Port-53 tuples (or early replies) the L3/L4 matcher shed to stay within its bound.</summary>
    public Counter.Child DatapathEvicted { get; }
    public Counter.Child WorkloadsEvicted { get; }
    public Counter.Child PodsEvicted { get; }

    /// <summary>Records whose workload was folded into "other" because the label bound was reached.</summary>
    public Counter.Child LabelOverflow { get; }

    public int LabelledWorkloads => _children.Count;

    public void CountDrop(WorkloadKey key, int reason)
    {
        var c = For(key);
        (c.Drops[reason] ??= _dropped.WithLabels(c.Namespace, c.Workload, DnsDropReason.Names[reason])).Inc();
    }

    public void CountAnswer(WorkloadKey key, int rcodeSlot)
    {
        var c = For(key);
        (c.Answers[rcodeSlot] ??= _answers.WithLabels(c.Namespace, c.Workload, DnsRcodes.Names[rcodeSlot])).Inc();
    }

    private Children For(WorkloadKey key)
    {
        if (_children.TryGetValue(key, out var c)) return c;
        if (_children.Count < _capacity)
        {
            c = new Children(key.Namespace, key.Workload);
            _children[key] = c;
            _labelledNamespaces.Add(key.Namespace);
            return c;
        }
        LabelOverflow.Inc();
        // Namespaces already labelled keep their name; unseen ones fold too, so the label set stays bounded.
        var ns = _labelledNamespaces.Contains(key.Namespace) ? key.Namespace : Other;
        if (!_overflow.TryGetValue(ns, out c)) _overflow[ns] = c = new Children(ns, Other);
        return c;
    }
}
