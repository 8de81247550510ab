namespace FlowWatch.Tests.Alerting;

/// <summary>The metric names FlowWatch exports (the contract rules/ and grafana/ are written against), plus the scrape's own up.</summary>
internal static class FlowWatchMetricContract
{
    public static readonly IReadOnlySet<string> Names = new HashSet<string>(StringComparer.Ordinal)
    {
        "flowwatch_flows_total",
        "flowwatch_lost_events_total",
        "flowwatch_shed_total",
        "flowwatch_intake_queue_depth",
        "flowwatch_event_time_lag_seconds",
        "flowwatch_bad_input_total",
        "flowwatch_hubble_connected",
        "flowwatch_hubble_reconnects_total",
        "flowwatch_findings",
        "flowwatch_findings_raised_total",
        "flowwatch_dns_lookups_dropped_total",
        "flowwatch_dns_answers_total",
        "flowwatch_duplicate_ips",
        "flowwatch_unmanaged_pods",
        "flowwatch_tcp_handshakes_total",
        "flowwatch_asymmetric_paths",
        "flowwatch_backend_health",
        "flowwatch_backend_handshakes_total",
        "flowwatch_node_connectivity",
        "flowwatch_node_handshakes_total",
        "flowwatch_store_flows",
        "flowwatch_store_evicted_total",
        "up",
    };
}
