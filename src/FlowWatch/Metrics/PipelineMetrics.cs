using FlowWatch.Flows;
using Prometheus;

namespace FlowWatch.Metrics;

/// <summary>FlowWatch's own health: flows seen, events Hubble lost, records shed, connection state.</summary>
public sealed class PipelineMetrics
{
    private readonly Counter.Child[] _byVerdict;

    public PipelineMetrics(IMetricFactory metrics)
    {
        var flows = metrics.CreateCounter("flowwatch_flows_total", "Flows processed, by verdict.",
            new CounterConfiguration { LabelNames = ["verdict"] });
        _byVerdict = Enum.GetValues<Verdict>().Select(v => flows.WithLabels(VerdictName(v))).ToArray();
        LostEvents = metrics.CreateCounter("flowwatch_lost_events_total",
            "Events Hubble reported lost (lost_events), by where they were lost.",
            new CounterConfiguration { LabelNames = ["source"] });
        Shed = metrics.CreateCounter("flowwatch_shed_total",
            "Records FlowWatch dropped to stay within its bounds, by the queue or map that shed them.",
            new CounterConfiguration { LabelNames = ["queue"] });
        IntakeShedBySource = metrics.CreateCounter("flowwatch_intake_shed_total",
            "Flows the intake queue shed, by the flow source (--hubble NAME) that sent them: the source with the most queued loses first.",
            new CounterConfiguration { LabelNames = ["source"] });
        Connected = metrics.CreateGauge("flowwatch_hubble_connected",
            "1 while the flow stream from Hubble is open, else 0.", new GaugeConfiguration { LabelNames = ["target"] });
        Reconnects = metrics.CreateCounter("flowwatch_hubble_reconnects_total",
            "Times the flow stream was re-opened after a failure.", new CounterConfiguration { LabelNames = ["target"] });
        Duplicates = metrics.CreateCounter("flowwatch_duplicate_flows_skipped_total",
            "Flows skipped on reconnect because they had already been processed.");
        BadInput = metrics.CreateCounter("flowwatch_bad_input_total",
            "Messages or lines that could not be decoded, by source kind.", new CounterConfiguration { LabelNames = ["source"] });
        QueueDepth = metrics.CreateGauge("flowwatch_intake_queue_depth", "Flows waiting for the pipeline.");
        EventTimeLag = metrics.CreateGauge("flowwatch_event_time_lag_seconds",
            "Wall time minus the event time of the newest flow processed.");
        HubbleFlowRate = metrics.CreateGauge("flowwatch_hubble_seen_flows",
            "Flows Hubble itself reports seen (ServerStatus.seen_flows).", new GaugeConfiguration { LabelNames = ["target"] });
        HubbleNodes = metrics.CreateGauge("flowwatch_hubble_nodes",
            "Nodes behind the Relay, by state (ServerStatus).", new GaugeConfiguration { LabelNames = ["target", "state"] });
        HubbleSeenFlowsRate = metrics.CreateGauge("flowwatch_hubble_seen_flows_rate",
            "Hubble's own flow rate: the change of ServerStatus.seen_flows per second between two polls.",
            new GaugeConfiguration { LabelNames = ["target"] });
        Stalls = metrics.CreateCounter("flowwatch_hubble_stream_stalls_total",
            "Flow streams abandoned because they delivered nothing for the idle timeout.",
            new CounterConfiguration { LabelNames = ["target"] });
        BadTimeFlows = metrics.CreateCounter("flowwatch_bad_time_total",
            "Flows whose timestamp was not believed (far_future, far_past): stored, but they neither moved event time nor reached a detector.",
            new CounterConfiguration { LabelNames = ["reason"] });
        _badTime = [BadTimeFlows.WithLabels("far_future"), BadTimeFlows.WithLabels("far_past")];
        LateFlows = metrics.CreateCounter("flowwatch_late_flows_total",
            "Flows older than event time by more than the allowed lateness; detectors still see them.");
        ReorderBuffered = metrics.CreateGauge("flowwatch_reorder_buffered",
            "Flows held by the reorder stage until every active node has reported up to their time.");
        ReorderForced = metrics.CreateCounter("flowwatch_reorder_forced_total",
            "Flows the reorder stage passed on before their time because it was full (possibly out of order; never dropped).");
        foreach (var q in new[] { "intake" }) Shed.WithLabels(q);
        foreach (var s in new[] { "PERF_EVENT_RING_BUFFER", "OBSERVER_EVENTS_QUEUE", "HUBBLE_RING_BUFFER" }) LostEvents.WithLabels(s);
    }

    private readonly Counter.Child[] _badTime;

    public Counter BadTimeFlows { get; }
    public Counter LateFlows { get; }
    public Gauge ReorderBuffered { get; }
    public Counter ReorderForced { get; }
    public Counter LostEvents { get; }
    public Counter Shed { get; }
    /// <summary>The intake's share of <see cref="Shed"/>, by source; the label values are the configured sources' names.</summary>
    public Counter IntakeShedBySource { get; }
    public Gauge Connected { get; }
    public Counter Reconnects { get; }
    public Counter Duplicates { get; }
    public Counter BadInput { get; }
    public Gauge QueueDepth { get; }
    public Gauge EventTimeLag { get; }
    public Gauge HubbleFlowRate { get; }
    public Gauge HubbleNodes { get; }
    public Gauge HubbleSeenFlowsRate { get; }
    public Counter Stalls { get; }

    public void CountFlow(Verdict verdict) => _byVerdict[(int)verdict < _byVerdict.Length ? (int)verdict : 0].Inc();

    public void CountBadTime(Pipeline.BadTime reason) => _badTime[reason == Pipeline.BadTime.FarFuture ? 0 : 1].Inc();

    public static string VerdictName(Verdict v) => v switch
    {
        Verdict.Unknown => "unknown",
        _ => v.ToString().ToLowerInvariant(),
    };
}
