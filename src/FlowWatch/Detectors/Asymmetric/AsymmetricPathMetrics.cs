using FlowWatch.Findings;
using Prometheus;

namespace FlowWatch.Detectors.Asymmetric;

/// <summary>The asymmetric-path detector's series: one gauge per (workload, peer range) with an open finding, and evictions.</summary>
/// <remarks>Labels are the workload and the configured or /24 peer range, never the pod. Not thread-safe: the detector
/// holds its lock around every call.</remarks>
internal sealed class AsymmetricPathMetrics
{
    private readonly Gauge _paths;
    private readonly Counter _evictions;
    // Open finding ids per gauge label set: the gauge is 1 while any pod of the workload has one for the range.
    private readonly Dictionary<(string Ns, string Workload, string Range), HashSet<string>> _open = new();

    public AsymmetricPathMetrics(IMetricFactory factory)
    {
        _paths = factory.CreateGauge("flowwatch_asymmetric_paths",
            "1 while a pod of the workload has an open asymmetric-path finding for the client peer range, else 0.",
            new GaugeConfiguration { LabelNames = ["namespace", "workload", "peer_range"] });
        _evictions = factory.CreateCounter("flowwatch_asymmetric_group_evictions_total",
            "Pod/peer-range handshake groups evicted because the bound was reached.");
    }

    public void GroupEvicted() => _evictions.Inc();

    /// <summary>Follows a finding's open or resolved state into the gauge (the dashboard maps 0 ok, 1 suspected).</summary>
    public void Track(Finding f)
    {
        var key = (f.Subject.Namespace, f.Subject.Workload, f.Subject.PeerRange);
        if (!_open.TryGetValue(key, out var ids)) _open[key] = ids = new HashSet<string>(StringComparer.Ordinal);
        if (f.State == FindingState.Open) ids.Add(f.Id); else ids.Remove(f.Id);
        _paths.WithLabels(key.Namespace, key.Workload, key.PeerRange).Set(ids.Count > 0 ? 1 : 0);
        if (ids.Count == 0) _open.Remove(key);
    }

    /// <summary>Whether the group's finding is open now.</summary>
    public bool IsOpen(AsymmetricGroup g) =>
        _open.TryGetValue((g.Key.Namespace, g.Workload, g.Key.Range.ToString()), out var ids) && ids.Contains(g.Key.FindingId);
}
