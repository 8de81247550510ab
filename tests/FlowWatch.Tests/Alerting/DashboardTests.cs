using System.Text.Json.Nodes;

namespace FlowWatch.Tests.Alerting;

/// <summary>Every dashboard in grafana/ imports into Grafana 10+ and only asks for series FlowWatch (or rules/) provides;
/// grafana/flowwatch.json covers every detector.</summary>
public sealed class DashboardTests
{
    private static readonly JsonObject Dashboard = DashboardFile.Load();

    public static TheoryData<string> Dashboards => new(DashboardFile.Names);

    [Fact]
    public void Grafana_HoldsThePerClusterAndTheFleetDashboard_WithDistinctUids()
    {
        Assert.Equal([DashboardFile.Fleet, DashboardFile.Cluster], DashboardFile.Names);
        var uids = DashboardFile.Names.Select(n => (string?)DashboardFile.Load(n)["uid"]).ToList();
        Assert.Equal(uids.Count, uids.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Dashboards))]
    public void Dashboard_IsGrafana10Schema_WithUidAndTitle(string name)
    {
        var dashboard = DashboardFile.Load(name);
        Assert.InRange((int)dashboard["schemaVersion"]!, 36, 39);
        Assert.False(string.IsNullOrEmpty((string?)dashboard["uid"]));
        Assert.False(string.IsNullOrEmpty((string?)dashboard["title"]));
        var ids = DashboardFile.Panels(dashboard).Select(p => (int)p["id"]!).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Dashboards))]
    public void Datasource_IsAPrometheusVariable_UsedByEveryPanelAndTarget(string name)
    {
        var dashboard = DashboardFile.Load(name);
        var ds = DashboardFile.Variables(dashboard).SingleOrDefault(v => (string?)v["name"] == "datasource");
        Assert.NotNull(ds);
        Assert.Equal("datasource", (string?)ds["type"]);
        Assert.Equal("prometheus", (string?)ds["query"]);
        var problems = new List<string>();
        foreach (var panel in DashboardFile.Panels(dashboard).Where(p => !DashboardFile.IsRow(p)))
        {
            CheckDatasource(panel["datasource"], $"panel '{panel["title"]}'", problems);
            foreach (var t in DashboardFile.Targets(panel)) CheckDatasource(t["datasource"], $"panel '{panel["title"]}' target {t["refId"]}", problems);
        }
        foreach (var v in DashboardFile.Variables(dashboard).Where(v => (string?)v["type"] == "query"))
            CheckDatasource(v["datasource"], $"variable ${v["name"]}", problems);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Dashboards))]
    public void EveryPanel_HasATargetWithAnExpression(string name)
    {
        var dashboard = DashboardFile.Load(name);
        var empty = DashboardFile.Panels(dashboard)
            .Where(p => !DashboardFile.IsRow(p))
            .Where(p => !DashboardFile.Targets(p).Any(t => !string.IsNullOrWhiteSpace((string?)t["expr"])))
            .Select(p => (string?)p["title"]).ToList();
        Assert.True(empty.Count == 0, "panels without a PromQL target: " + string.Join(", ", empty));
    }

    [Theory]
    [MemberData(nameof(Dashboards))]
    public void EveryQuery_UsesOnlyExportedMetricsOrRecordedSeries(string name)
    {
        var dashboard = DashboardFile.Load(name);
        var recorded = RuleFiles.RecordedNames;
        var problems = new List<string>();
        foreach (var (where, query) in DashboardFile.Queries(dashboard))
        {
            var names = PromQlNames.MetricNames(query);
            if (names.Count == 0) problems.Add($"{where}: reads no metric: {query}");
            foreach (var n in names)
                if (!FlowWatchMetricContract.Names.Contains(n) && !recorded.Contains(n))
                    problems.Add($"{where}: '{n}' is neither a FlowWatch metric nor a recording rule in rules/");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Dashboards))]
    public void EveryVariableUsed_IsDefined(string name)
    {
        var dashboard = DashboardFile.Load(name);
        var defined = DashboardFile.Variables(dashboard).Select(v => (string)v["name"]!).ToHashSet(StringComparer.Ordinal);
        var used = DashboardFile.VariableReferences(dashboard.ToJsonString()).ToHashSet(StringComparer.Ordinal);
        Assert.True(used.IsSubsetOf(defined), "used but not defined: " + string.Join(", ", used.Except(defined)));
        foreach (var required in name == DashboardFile.Cluster ? ["cluster", "namespace", "workload", "service"] : new[] { "cluster" })
        {
            var v = DashboardFile.Variables(dashboard).SingleOrDefault(x => (string?)x["name"] == required);
            Assert.True(v is not null, $"no ${required} variable");
            Assert.StartsWith("label_values(", DashboardFile.VariableQuery(v!));
            Assert.True(used.Contains(required), $"${required} is defined but no query uses it");
        }
    }

    [Fact]
    public void Rows_CoverEveryDetectorAndFlowWatchHealth()
    {
        var rows = DashboardFile.Panels(Dashboard).Where(DashboardFile.IsRow).Select(r => (string)r["title"]!).ToList();
        Assert.Equal(["Overview", "DNS", "Duplicate IPs and unmanaged pods", "Asymmetric paths", "NodePort backend health", "Node connectivity", "FlowWatch health"], rows);
        // One series per backend pod, so the failing one stands out.
        var backend = DashboardFile.Panels(Dashboard).Single(p => (string?)p["title"] == "Backend health by pod");
        var target = DashboardFile.Targets(backend).Single();
        Assert.Contains("flowwatch_backend_health", (string)target["expr"]!);
        Assert.Contains("pod", (string)target["expr"]!);
        Assert.Contains("{{pod}}", (string)target["legendFormat"]!);
    }

    private static void CheckDatasource(JsonNode? node, string where, List<string> problems)
    {
        if (node is not JsonObject o || (string?)o["uid"] != "${datasource}" || (string?)o["type"] != "prometheus")
            problems.Add($"{where}: datasource is {node?.ToJsonString() ?? "missing"}, not {{type: prometheus, uid: ${{datasource}}}}");
    }
}
