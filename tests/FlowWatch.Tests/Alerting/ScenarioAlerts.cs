using System.Text.RegularExpressions;

namespace FlowWatch.Tests.Alerting;

/// <summary>One alert a demo scenario must raise: its name and the labels the firing instance must carry (each value a
/// regular expression matched against the whole label, as Prometheus' =~ does).</summary>
public sealed record ExpectedAlert(string Scenario, string Alert, IReadOnlyDictionary<string, string> Labels)
{
    public bool Matches(PrometheusAlert a) =>
        a.Name == Alert && Labels.All(l => a.Labels.TryGetValue(l.Key, out var v) && Regex.IsMatch(v, $"^(?:{l.Value})$"));

    public override string ToString() =>
        $"{Alert}{{{string.Join(", ", Labels.Select(l => $"{l.Key}={l.Value}"))}}} (scenario {Scenario})";
}

/// <summary>The one table of which alerts each <c>flowwatch demo --scenario</c> fires (workloads as in
/// src/FlowWatch/Simulation/Scenario.cs and SimulatedCluster.cs). Every alert not listed here must stay silent.</summary>
public static class ScenarioAlerts
{
    public static readonly IReadOnlyList<ExpectedAlert> Table =
    [
        new("dns-drops", "FlowWatchDnsLookupsDropped", L(("namespace", "shop"), ("workload", "checkout"), ("reason", "policy_denied_proxy"))),
        new("dns-drops", "FlowWatchDnsLookupsDropped", L(("namespace", "shop"), ("workload", "cart"), ("reason", "datapath_policy_denied"))),
        new("dns-drops", "FlowWatchDnsLookupsDropped", L(("namespace", "web"), ("workload", "frontend"), ("reason", "no_answer"))),
        new("duplicate-ip", "FlowWatchDuplicatePodIp", L()),
        new("duplicate-ip", "FlowWatchUnmanagedPods", L(("node", "sim-node-3"))),
        new("asymmetric", "FlowWatchAsymmetricPath", L(("namespace", "payments"), ("workload", "ledger"), ("peer_range", @"172\.31\..*"))),
        new("nodeport-backend", "FlowWatchNodePortBackendUnhealthy", L(("namespace", "web"), ("service", "storefront"), ("pod", System.Text.RegularExpressions.Regex.Escape(DemoFailingBackend)))),
        new("node-collapse", "FlowWatchNodeConnectivityCollapse", L(("node", "sim-node-5"))),
    ];

    /// <summary>The pod nodeport-backend fails in the demo's default cluster (seed 1, 5 nodes).</summary>
    public static string DemoFailingBackend => new FlowWatch.Simulation.SimulatedCluster(seed: 1, nodes: 5).FailingBackend.Name;

    /// <summary>Every scenario the table covers, comma-separated as <c>--scenario</c> takes them.</summary>
    public static string AllScenarios => string.Join(",", Table.Select(e => e.Scenario).Distinct());

    /// <summary>The alert names any scenario may raise.</summary>
    public static IReadOnlySet<string> ScenarioAlertNames => Table.Select(e => e.Alert).ToHashSet(StringComparer.Ordinal);

    private static IReadOnlyDictionary<string, string> L(params (string Key, string Value)[] labels) =>
        labels.ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);
}
