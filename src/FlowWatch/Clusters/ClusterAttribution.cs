using FlowWatch.Detectors.Common;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Pipeline;
using Prometheus;

namespace FlowWatch.Clusters;

/// <summary>Which cluster of a ClusterMesh a finding is about, learned from the <c>cluster_name</c> Cilium puts on the
/// flows' endpoints: a finding about a pod (or workload) that lives in another cluster of the mesh names that cluster;
/// every other finding names FlowWatch's own (<c>--cluster</c>).</summary>
/// <remarks>
/// FlowWatch's name for its cluster and Cilium's <c>cluster.name</c> may differ, so the local cluster is recognised
/// by the flows themselves: every flow a node observes has an endpoint on that node, so Cilium's name for the watched
/// cluster is the one the most flows carry (<see cref="LocalClusterVote"/>). Endpoints of any other cluster are
/// remembered by namespace and pod, and by namespace and workload, in two bounded maps (what they shed is counted in
/// <c>flowwatch_shed_total{queue="remote_endpoints"}</c>). A flow without cluster names costs two reference compares.
/// A workload name that exists in two clusters (a global service) is attributed by its pod where the finding names
/// one, else to the cluster it was last seen in. Metrics keep FlowWatch's own cluster label: a label set per remote
/// cluster would be a second set of every series.
/// </remarks>
public sealed class ClusterAttribution : IFlowSink
{
    private readonly object _gate = new();
    private readonly BoundedLru<(string Namespace, string Name), string> _pods;
    private readonly BoundedLru<(string Namespace, string Name), string> _workloads;
    private readonly Counter.Child? _shed;
    private long _shedReported;

    public ClusterAttribution(string cluster, int capacity = 65_536, IMetricFactory? metrics = null)
    {
        Cluster = cluster;
        _pods = new BoundedLru<(string, string), string>(capacity);
        _workloads = new BoundedLru<(string, string), string>(capacity);
        _shed = metrics?.CreateCounter("flowwatch_shed_total",
            "Records FlowWatch dropped to stay within its bounds, by the queue or map that shed them.",
            new CounterConfiguration { LabelNames = ["queue"] }).WithLabels("remote_endpoints");
    }

    /// <summary>FlowWatch's own cluster: the name findings about local endpoints carry.</summary>
    public string Cluster { get; }

    /// <summary>Cilium's cluster names as the flows carry them; the most common one is the watched cluster.</summary>
    public LocalClusterVote Vote { get; } = new();

    /// <summary>Only the endpoints' interned names are remembered, never the record, so the pipeline may reuse it.</summary>
    public bool KeepsRecords => false;

    public void Add(FlowRecord flow)
    {
        var (src, dst) = (flow.Source.Cluster, flow.Destination.Cluster);
        if (src.Length == 0 && dst.Length == 0) return;
        Vote.Count(src, dst);
        var local = Vote.Local;
        if (src.Length != 0 && !ReferenceEquals(src, local) && src != local) Learn(flow.Source);
        if (dst.Length != 0 && !ReferenceEquals(dst, local) && dst != local) Learn(flow.Destination);
    }

    private void Learn(FlowEndpoint e)
    {
        if (e.Namespace.Length == 0) return;
        lock (_gate)
        {
            if (e.Pod.Length != 0) _pods.Set((e.Namespace, e.Pod), e.Cluster);
            if (e.Workload.Length != 0) _workloads.Set((e.Namespace, e.Workload), e.Cluster);
            var shed = _pods.Evicted + _workloads.Evicted;
            if (shed != _shedReported) { _shed?.Inc(shed - _shedReported); _shedReported = shed; }
        }
    }

    /// <summary>The cluster a finding is about: a remote cluster of the mesh when its pod (else workload) was seen there, else <see cref="Cluster"/>.</summary>
    public string Of(FindingSubject subject)
    {
        if (subject.Namespace.Length == 0) return Cluster;
        lock (_gate)
        {
            if (subject.Pod.Length != 0)
                return _pods.TryPeek((subject.Namespace, subject.Pod), out var byPod) && Remote(byPod) ? byPod : Cluster;
            if (subject.Workload.Length != 0 && _workloads.TryPeek((subject.Namespace, subject.Workload), out var byWorkload) && Remote(byWorkload))
                return byWorkload;
        }
        return Cluster;
    }

    // A name learned as remote before the vote settled may turn out to be the local one.
    private bool Remote(string name) => name != Vote.Local && ClusterName.Problem(name) is null;
}
