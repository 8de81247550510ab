using System.Text.Json;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Alerting;

/// <summary>Two clusters, one Prometheus: <c>flowwatch demo --cluster a</c> (DNS drops) and <c>--cluster b</c> (a failing
/// NodePort backend) as two real processes, scraped in one job with rules/ loaded. Every FlowWatch series carries its
/// instance's cluster, each scenario's alerts fire for its own cluster only, and every fleet-dashboard query answers one
/// series per cluster.</summary>
/// <remarks>The two instances coordinate through nothing but the <c>cluster</c> label, so the rules are loaded as rules/
/// has them (only <c>for:</c> scaled): their aggregations keep <c>cluster</c> themselves, which
/// <c>AlertRuleTests.EveryGrouping_KeepsCluster_AndEverySummaryNamesIt</c> checks line by line.</remarks>
[Collection(DemoEndToEndCollection.Name)]
public sealed partial class TwoClusterEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);

    private static readonly (string Cluster, string Scenario)[] Clusters = [("a", "dns-drops"), ("b", "nodeport-backend")];

    [Fact]
    public async Task TwoInstances_OnePrometheus_EachAlertFiresForItsOwnClusterOnly_EverySeriesNamesItsCluster_FleetQueriesAnswerOneSeriesPerCluster()
    {
        using var rules = ScaledRuleFiles.Write(DemoRun.ForDivisor);
        var demos = new List<DemoProcess>();
        try
        {
            foreach (var (cluster, scenario) in Clusters)
                demos.Add(await DemoProcess.StartAsync(scenario, ["--cluster", cluster, "--rate", "1000"], TimeSpan.FromSeconds(60)));
            await using var prometheus = await PrometheusHarness.StartAsync(demos.Select(d => d.MetricsUri).ToList(), rules.Paths, TimeSpan.FromSeconds(1));

            var expected = Clusters.SelectMany(c => ScenarioAlerts.Table.Where(e => e.Scenario == c.Scenario).Select(e => (c.Cluster, Alert: e))).ToList();
            var firing = new Dictionary<string, PrometheusAlert>(StringComparer.Ordinal);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                foreach (var demo in demos)
                    Assert.False(demo.HasExited, $"a demo exited during the run:\n{demo.RecentLog}");
                foreach (var alert in await prometheus.AlertsAsync())
                    if (alert.State == "firing")
                        firing[alert.Name + " " + string.Join(",", alert.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))] = alert;
                var done = expected.All(x => firing.Values.Any(a => x.Alert.Matches(a) && a.Labels.GetValueOrDefault("cluster") == x.Cluster));
                if (done || clock.Elapsed > Deadline) break;
                await Task.Delay(500);
            }
            output.WriteLine($"after {clock.Elapsed.TotalSeconds:0} s, firing: {string.Join("; ", firing.Values)}");

            var problems = new List<string>();
            foreach (var (cluster, alert) in expected)
                if (!firing.Values.Any(a => alert.Matches(a) && a.Labels.GetValueOrDefault("cluster") == cluster))
                    problems.Add($"{alert} did not fire for cluster {cluster} within {Deadline.TotalSeconds:0} s");
            foreach (var a in firing.Values)
            {
                var cluster = a.Labels.GetValueOrDefault("cluster");
                if (cluster is null) { problems.Add($"{a} fired without a cluster label"); continue; }
                var scenario = Clusters.FirstOrDefault(c => c.Cluster == cluster).Scenario;
                if (!ScenarioAlerts.Table.Any(e => e.Scenario == scenario && e.Alert == a.Name))
                    problems.Add($"{a} fired for cluster {cluster}, whose scenario ({scenario ?? "none"}) does not raise it");
            }
            Assert.True(problems.Count == 0, string.Join("\n", problems) + $"\nfiring: [{string.Join("; ", firing.Values)}]");

            // Every FlowWatch series carries its cluster, and each scraped instance is exactly one cluster.
            var unlabelled = await prometheus.QueryAsync("count({job=\"flowwatch\", __name__=~\"flowwatch_.*\", cluster=\"\"})");
            Assert.Equal(0, unlabelled.GetArrayLength());
            var byInstance = await prometheus.QueryAsync("count by (instance, cluster) (flowwatch_flows_total)");
            var pairs = byInstance.EnumerateArray().Select(r => (Instance: Label(r, "instance"), Cluster: Label(r, "cluster"))).ToList();
            Assert.Equal(["a", "b"], pairs.Select(p => p.Cluster).Order());
            Assert.Equal(2, pairs.Select(p => p.Instance).Distinct().Count());
            output.WriteLine($"instances: {string.Join(", ", pairs.Select(p => $"{p.Instance} = cluster {p.Cluster}"))}");

            // The fleet dashboard puts the clusters side by side: every one of its queries, as Grafana sends it with
            // $cluster at "All", answers one series per cluster (per cluster and the other labels its legend names).
            var fleetProblems = new List<string>();
            foreach (var (where, query, legend) in FleetQueries())
            {
                var result = await prometheus.QueryAsync(DashboardFile.Substitute(query));
                var series = result.EnumerateArray().Select(r => legend.ToDictionary(l => l, l => Label(r, l))).ToList();
                var clusters = series.Select(s => s["cluster"]).ToList();
                var keys = series.Select(s => string.Join(",", legend.Select(l => $"{l}={s[l]}"))).ToList();
                output.WriteLine($"  {where}: {series.Count} series [{string.Join("; ", keys)}]");
                if (!clusters.Distinct().Order().SequenceEqual(Clusters.Select(c => c.Cluster)))
                    fleetProblems.Add($"{where}: clusters [{string.Join(", ", clusters.Distinct().Order())}], not [a, b]: {query}");
                if (keys.Count != keys.Distinct().Count())
                    fleetProblems.Add($"{where}: more than one series for one legend ({string.Join(", ", legend)}): [{string.Join("; ", keys)}]");
                if (legend.SequenceEqual(["cluster"]) && series.Count != Clusters.Length)
                    fleetProblems.Add($"{where}: {series.Count} series, not one per cluster");
            }
            Assert.True(fleetProblems.Count == 0, string.Join("\n", fleetProblems));
        }
        finally
        {
            foreach (var demo in demos) await demo.DisposeAsync();
        }
    }

    /// <summary>Every fleet-dashboard panel query with the labels its legend names (each series is drawn as one of those).</summary>
    private static IEnumerable<(string Where, string Query, IReadOnlyList<string> Legend)> FleetQueries()
    {
        foreach (var panel in DashboardFile.Panels(DashboardFile.Load(DashboardFile.Fleet)))
            foreach (var target in DashboardFile.Targets(panel))
                if ((string?)target["expr"] is { Length: > 0 } expr)
                {
                    var legend = LegendLabel().Matches((string?)target["legendFormat"] ?? "").Select(m => m.Groups[1].Value).Distinct().ToList();
                    Assert.True(legend.Contains("cluster"), $"fleet panel '{panel["title"]}' target {target["refId"]}: its legend does not name the cluster");
                    yield return ($"panel '{panel["title"]}' target {target["refId"]}", expr, legend);
                }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\{\{\s*(\w+)\s*\}\}")]
    private static partial System.Text.RegularExpressions.Regex LegendLabel();

    private static string Label(JsonElement result, string name) =>
        result.GetProperty("metric").TryGetProperty(name, out var v) ? v.GetString() ?? "" : "";
}
