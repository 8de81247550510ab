using System.Text.Json;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Alerting;

/// <summary>Two clusters, one Prometheus: <c>flowwatch demo --cluster a</c> (DNS drops) and <c>--cluster b</c> (a failing
/// NodePort backend) as two real processes, scraped in one job with rules/ loaded. Every FlowWatch series carries its
/// instance's cluster, and each scenario's alerts fire for its own cluster only.</summary>
/// <remarks>The two instances coordinate through nothing but the <c>cluster</c> label, so the rules are loaded as rules/
/// has them (only <c>for:</c> scaled): their aggregations keep <c>cluster</c> themselves, which
/// <c>AlertRuleTests.EveryGrouping_KeepsCluster_AndEverySummaryNamesIt</c> checks line by line.</remarks>
[Collection(DemoEndToEndCollection.Name)]
public sealed class TwoClusterEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);

    private static readonly (string Cluster, string Scenario)[] Clusters = [("a", "dns-drops"), ("b", "nodeport-backend")];

    [Fact]
    public async Task TwoInstances_OnePrometheus_EachAlertFiresForItsOwnClusterOnly_EverySeriesNamesItsCluster()
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
        }
        finally
        {
            foreach (var demo in demos) await demo.DisposeAsync();
        }
    }

    private static string Label(JsonElement result, string name) =>
        result.GetProperty("metric").TryGetProperty(name, out var v) ? v.GetString() ?? "" : "";
}
