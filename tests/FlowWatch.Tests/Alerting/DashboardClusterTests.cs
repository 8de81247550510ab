using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FlowWatch.Tests.Alerting;

/// <summary>The dashboards over many clusters: every query of both is filtered by $cluster, the per-cluster dashboard
/// shows one cluster at a time, and the fleet dashboard shows them all, one series per cluster, each linking to its
/// cluster in the per-cluster dashboard.</summary>
public sealed partial class DashboardClusterTests
{
    private const string Filter = "cluster=~\"$cluster\"";

    public static TheoryData<string> Dashboards => new(DashboardFile.Names);

    [Theory]
    [MemberData(nameof(Dashboards))]
    public void EverySelector_IsFilteredByCluster(string name)
    {
        var problems = new List<string>();
        foreach (var (where, query) in DashboardFile.Queries(DashboardFile.Load(name)))
        {
            // The cluster variable lists the clusters; every other query reads one (or the chosen) cluster's series.
            if (where == "variable $cluster") continue;
            problems.AddRange(UnfilteredSelectors(query).Select(s => $"{where}: {s} is not filtered by {Filter}"));
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void UnfilteredSelectors_FindsBareNamesAndMatchersWithoutCluster_AndUpWithoutTheJoin()
    {
        Assert.Empty(UnfilteredSelectors("sum by (kind) (flowwatch_findings{cluster=~\"$cluster\", kind=~\"a|b\"})"));
        Assert.Empty(UnfilteredSelectors("label_values({__name__=~\"flowwatch_a|flowwatch_b\", cluster=~\"$cluster\"}, namespace)"));
        Assert.Equal(["flowwatch_findings"], UnfilteredSelectors("sum by (kind) (flowwatch_findings)"));
        Assert.Equal(["x:flowwatch_y:rate5m{namespace=~\"\"}"],
            UnfilteredSelectors("x:flowwatch_y:rate5m{namespace=~\"$namespace\"} / x:flowwatch_y:rate5m{cluster=~\"$cluster\"}"));
        Assert.Equal(["{__name__=~\"\"}"], UnfilteredSelectors("label_values({__name__=~\"flowwatch_a|flowwatch_b\"}, namespace)"));
        Assert.Equal(["up (without a join on a cluster-filtered FlowWatch series)"], UnfilteredSelectors("up{job=~\".*flowwatch.*\"}"));
        Assert.Empty(UnfilteredSelectors(
            "up{job=~\".*flowwatch.*\"} and on (job, instance) group by (job, instance) (flowwatch_hubble_connected{cluster=~\"$cluster\"})"));
    }

    [Fact]
    public void ClusterDashboard_ShowsOneClusterAtATime_AndLinksToTheFleet()
    {
        var dashboard = DashboardFile.Load(DashboardFile.Cluster);
        var cluster = Variable(dashboard, "cluster");
        // No "All": its panels sum over namespaces, workloads and nodes, which must never add two clusters up.
        Assert.False((bool?)cluster["multi"] ?? false);
        Assert.False((bool?)cluster["includeAll"] ?? false);
        Assert.Equal("label_values(flowwatch_flows_total, cluster)", DashboardFile.VariableQuery(cluster));
        var fleetUid = (string)DashboardFile.Load(DashboardFile.Fleet)["uid"]!;
        var links = dashboard["links"]!.AsArray().OfType<JsonObject>().Select(l => (string?)l["url"]).ToList();
        Assert.Contains(links, u => u is not null && u.StartsWith($"/d/{fleetUid}/", StringComparison.Ordinal));
    }

    [Fact]
    public void FleetDashboard_ShowsEveryClusterByDefault()
    {
        var cluster = Variable(DashboardFile.Load(DashboardFile.Fleet), "cluster");
        Assert.True((bool?)cluster["multi"]);
        Assert.True((bool?)cluster["includeAll"]);
        Assert.Equal(".*", (string?)cluster["allValue"]);
        Assert.Equal("$__all", (string?)cluster["current"]!["value"]!.AsArray().Single());
    }

    [Fact]
    public void FleetDashboard_EveryPanelLinksToItsClusterInTheClusterDashboard_AndNamesTheCluster()
    {
        var clusterDashboard = DashboardFile.Load(DashboardFile.Cluster);
        var prefix = $"/d/{(string)clusterDashboard["uid"]!}/";
        var problems = new List<string>();
        foreach (var panel in DashboardFile.Panels(DashboardFile.Load(DashboardFile.Fleet)).Where(p => !DashboardFile.IsRow(p)))
        {
            var links = panel["fieldConfig"]?["defaults"]?["links"] as JsonArray ?? [];
            if (!links.OfType<JsonObject>().Any(l => ((string?)l["url"] ?? "") is var u && u.StartsWith(prefix, StringComparison.Ordinal)
                    && u.Contains("var-cluster=${__field.labels.cluster}", StringComparison.Ordinal) && u.Contains("${__url_time_range}", StringComparison.Ordinal)))
                problems.Add($"panel '{panel["title"]}': no data link to {prefix}...?var-cluster=${{__field.labels.cluster}} keeping the time range");
            foreach (var target in DashboardFile.Targets(panel))
                if (!((string?)target["legendFormat"] ?? "").Contains("{{cluster}}", StringComparison.Ordinal))
                    problems.Add($"panel '{panel["title"]}' target {target["refId"]}: legend does not name the cluster");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void FleetDashboard_CoversFindingsEveryDetectorAndFlowWatchHealth()
    {
        var metrics = DashboardFile.Queries(DashboardFile.Load(DashboardFile.Fleet))
            .SelectMany(q => PromQlNames.MetricNames(q.Query)).ToHashSet(StringComparer.Ordinal);
        string[] required =
        [
            "flowwatch_findings", "namespace_workload_reason:flowwatch_dns_lookups_dropped:rate5m", "flowwatch_backend_health",
            "flowwatch_asymmetric_paths", "flowwatch_node_connectivity", "flowwatch_duplicate_ips", "flowwatch_hubble_connected",
            "flowwatch_flows_total", "instance_source:flowwatch_lost_events:ratio_rate5m", "flowwatch_shed_total", "flowwatch_event_time_lag_seconds",
        ];
        Assert.Empty(required.Where(r => !metrics.Contains(r)));
    }

    private static JsonObject Variable(JsonObject dashboard, string name) =>
        DashboardFile.Variables(dashboard).Single(v => (string?)v["name"] == name);

    /// <summary>The selectors of a query that do not carry the cluster filter. <c>up</c> is Prometheus' own and has no
    /// cluster when FlowWatch sets the label itself, so it passes only joined on (job, instance) to a filtered series.</summary>
    internal static List<string> UnfilteredSelectors(string query)
    {
        var text = query.Replace(Filter, "\u0001", StringComparison.Ordinal);
        text = StringLiteral().Replace(text, "\"\"");
        var problems = new List<string>();
        foreach (Match m in Selector().Matches(text))
        {
            var name = m.Groups["name"].Value;
            var matchers = m.Groups["matchers"];
            if (name == "up")
            {
                if (!JoinOnInstance().IsMatch(text)) problems.Add("up (without a join on a cluster-filtered FlowWatch series)");
                continue;
            }
            if (name.Length == 0 && !matchers.Success) continue;
            if (name.Length > 0 && !IsSeriesName(name)) continue;
            if (!matchers.Success || !matchers.Value.Contains('\u0001'))
                problems.Add((name + (matchers.Success ? matchers.Value : "")).Replace("\u0001", Filter, StringComparison.Ordinal));
        }
        return problems;
    }

    private static bool IsSeriesName(string name) => name.StartsWith("flowwatch_", StringComparison.Ordinal) || name.Contains(':');

    // A metric name (or none) and its {matchers}; names followed by "(" are functions, names inside by (...) are labels.
    [GeneratedRegex(@"(?<![\w:$.])(?<name>[a-zA-Z_:][\w:]*)?(?<matchers>\{[^{}]*\})|(?<![\w:$.""])(?<name>[a-zA-Z_:][\w:]*)\b(?!\s*[({\w:])")]
    private static partial Regex Selector();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\band on \(job, instance\) group by \(job, instance\) \(.*\u0001")]
    private static partial Regex JoinOnInstance();
}
