using Prometheus;

namespace FlowWatch.Kubernetes.Watching;

/// <summary>Health of the Kubernetes watches: events, relists, failures, objects held, connection state.</summary>
public sealed class KubeWatchMetrics
{
    public KubeWatchMetrics(IMetricFactory metrics)
    {
        Events = metrics.CreateCounter("flowwatch_kube_watch_events_total", "Watch events received, by resource and type.",
            new CounterConfiguration { LabelNames = ["resource", "type"] });
        Relists = metrics.CreateCounter("flowwatch_kube_relists_total", "Full lists, by resource and why (start, gone).",
            new CounterConfiguration { LabelNames = ["resource", "reason"] });
        Pages = metrics.CreateCounter("flowwatch_kube_list_pages_total", "List pages received (limit/continue), by resource.",
            new CounterConfiguration { LabelNames = ["resource"] });
        ListRestarts = metrics.CreateCounter("flowwatch_kube_list_restarts_total",
            "Paged lists restarted from the first page because their continue token expired (410), by resource.",
            new CounterConfiguration { LabelNames = ["resource"] });
        SyncMode = metrics.CreateGauge("flowwatch_kube_sync_mode",
            "How the resource was last synced: 1 watch-list streaming, 0 paged list then watch.",
            new GaugeConfiguration { LabelNames = ["resource"] });
        Failures = metrics.CreateCounter("flowwatch_kube_watch_failures_total", "Lists or watches that failed and were retried after a backoff.",
            new CounterConfiguration { LabelNames = ["resource"] });
        Objects = metrics.CreateGauge("flowwatch_kube_objects", "Objects held in the cluster view, by resource.",
            new GaugeConfiguration { LabelNames = ["resource"] });
        Connected = metrics.CreateGauge("flowwatch_kube_connected", "1 while the resource's watch is open, 0 when not, -1 when the resource is absent (CRD not installed).",
            new GaugeConfiguration { LabelNames = ["resource"] });
        Shed = metrics.CreateCounter("flowwatch_shed_total",
            "Records FlowWatch dropped to stay within its bounds, by the queue or map that shed them.",
            new CounterConfiguration { LabelNames = ["queue"] });
    }

    public Counter Events { get; }
    public Counter Relists { get; }
    public Counter Failures { get; }
    public Counter Pages { get; }
    public Counter ListRestarts { get; }
    public Gauge SyncMode { get; }
    public Gauge Objects { get; }
    public Gauge Connected { get; }
    public Counter Shed { get; }
}
