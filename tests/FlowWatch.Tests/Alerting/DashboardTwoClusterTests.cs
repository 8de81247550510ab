using System.Text;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Alerting;

/// <summary>Every dashboard query over two clusters' series, evaluated by promtool with rules/ loaded: the fleet
/// dashboard answers one series per cluster (never their sum) and only the chosen clusters; the per-cluster dashboard
/// answers for the chosen cluster and nothing for a cluster that has no series.</summary>
/// <remarks>The series are the shapes FlowWatch exports (labels as in the README's metric table) with an incident of
/// each kind in both clusters, so that every panel has something to show. Both clusters use the same workload, pod
/// and node names: only cluster tells them apart.</remarks>
public sealed class DashboardTwoClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static readonly string[] Clusters = ["a", "b"];

    [Fact]
    public async Task FleetQueries_AnswerOneSeriesPerCluster_AndOnlyTheChosenOnes()
    {
        var tests = new StringBuilder();
        var legend = new List<string>();
        foreach (var (where, query) in Queries(DashboardFile.Fleet))
        {
            foreach (var (chosen, expected) in new[] { (".*", Clusters), ("b", ["b"]), ("nosuch", Array.Empty<string>()) })
            {
                // The $cluster variable lists every cluster, whichever are chosen.
                if (where == "variable $cluster" && chosen != ".*") continue;
                var promql = $"group by (cluster) ({DashboardFile.Substitute(query, new Dictionary<string, string> { ["cluster"] = chosen })})";
                ExprTest(tests, promql, expected.Select(c => $"{{cluster=\"{c}\"}}"));
                legend.Add($"{where} with $cluster={chosen}: expected {(expected.Length == 0 ? "no series" : string.Join(", ", expected))}");
            }
        }
        await AssertPasses(tests, legend);
    }

    [Fact]
    public async Task ClusterQueries_AnswerForTheChosenCluster_AndNothingForAnUnknownOne()
    {
        var tests = new StringBuilder();
        var legend = new List<string>();
        foreach (var (where, query) in Queries(DashboardFile.Cluster))
        {
            // The $cluster variable lists the clusters, whichever is chosen.
            var unknownAnswers = where == "variable $cluster";
            ExprTest(tests, $"group ({DashboardFile.Substitute(query, Chosen("a"))})", ["{}"]);
            ExprTest(tests, $"group ({DashboardFile.Substitute(query, Chosen("nosuch"))})", unknownAnswers ? ["{}"] : []);
            legend.Add($"{where}: data with $cluster=a, none with $cluster=nosuch");
        }
        await AssertPasses(tests, legend);
    }

    private static Dictionary<string, string> Chosen(string cluster) => new() { ["cluster"] = cluster };

    /// <summary>Panel targets and query variables as PromQL (label_values as group by (label) (selector)).</summary>
    private static IEnumerable<(string Where, string Query)> Queries(string dashboard) =>
        DashboardFile.Queries(DashboardFile.Load(dashboard))
            .Select(q => (q.Where, DashboardFile.LabelValuesAsPromQl(q.Query) ?? q.Query));

    private static void ExprTest(StringBuilder tests, string promql, IEnumerable<string> samples)
    {
        tests.Append("      - expr: ").Append(Quote(promql)).Append('\n');
        tests.Append("        eval_time: 9m\n");
        var list = samples.ToList();
        if (list.Count == 0) { tests.Append("        exp_samples: []\n"); return; }
        tests.Append("        exp_samples:\n");
        foreach (var labels in list) tests.Append("          - labels: ").Append(Quote(labels)).Append("\n            value: 1\n");
    }

    private async Task AssertPasses(StringBuilder exprTests, List<string> legend)
    {
        var yaml = new StringBuilder();
        yaml.Append("rule_files:\n");
        foreach (var file in RuleFiles.RuleFilePaths) yaml.Append("  - ").Append(Quote(file)).Append('\n');
        yaml.Append("evaluation_interval: 15s\ntests:\n  - interval: 15s\n    input_series:\n");
        foreach (var (series, values) in InputSeries())
            yaml.Append("      - series: ").Append(Quote(series)).Append("\n        values: ").Append(Quote(values)).Append('\n');
        yaml.Append("    promql_expr_test:\n").Append(exprTests);
        var dir = Directory.CreateTempSubdirectory("flowwatch-dashboard-clusters-");
        try
        {
            var file = Path.Combine(dir.FullName, "dashboard-clusters.yaml");
            await File.WriteAllTextAsync(file, yaml.ToString());
            var result = await ProcessRunner.RunAsync(PrometheusTools.Promtool, ["test", "rules", file], TestPaths.RepoRoot, Timeout);
            output.WriteLine(string.Join("\n", legend));
            Assert.True(result.ExitCode == 0 && result.Output.Contains("SUCCESS", StringComparison.Ordinal),
                $"promtool test rules failed (exit {result.ExitCode}):\n{result.Output}\nqueries, in order:\n{string.Join("\n", legend)}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The same series in each cluster, each cluster's FlowWatch at its own address (up has no cluster label:
    /// FlowWatch sets it itself).</summary>
    private static IEnumerable<(string Series, string Values)> InputSeries()
    {
        (string Metric, string Labels, string Values)[] shapes =
        [
            ("flowwatch_flows_total", "verdict=\"forwarded\"", "0+100x40"),
            ("flowwatch_flows_total", "verdict=\"dropped\"", "0+10x40"),
            ("flowwatch_findings", "kind=\"dns_drops\",severity=\"warning\"", "1x40"),
            ("flowwatch_findings", "kind=\"duplicate_ip\",severity=\"critical\"", "1x40"),
            ("flowwatch_findings", "kind=\"unmanaged_pod\",severity=\"warning\"", "1x40"),
            ("flowwatch_findings_raised_total", "kind=\"dns_drops\"", "0+1x40"),
            ("flowwatch_dns_lookups_dropped_total", "namespace=\"shop\",workload=\"checkout\",reason=\"policy_denied_proxy\"", "0+3x40"),
            ("flowwatch_dns_answers_total", "namespace=\"shop\",workload=\"checkout\",rcode=\"noerror\"", "0+30x40"),
            ("flowwatch_duplicate_ips", "", "1x40"),
            ("flowwatch_unmanaged_pods", "node=\"node-1\"", "1x40"),
            ("flowwatch_tcp_handshakes_total", "namespace=\"payments\",workload=\"ledger\",outcome=\"completed\"", "0+30x40"),
            ("flowwatch_tcp_handshakes_total", "namespace=\"payments\",workload=\"ledger\",outcome=\"reply_lost\"", "0+10x40"),
            ("flowwatch_asymmetric_paths", "namespace=\"payments\",workload=\"ledger\",peer_range=\"172.31.0.0/16\"", "1x40"),
            ("flowwatch_backend_health", "namespace=\"web\",service=\"storefront\",pod=\"storefront-0\"", "1x40"),
            ("flowwatch_backend_health", "namespace=\"web\",service=\"storefront\",pod=\"storefront-1\"", "0x40"),
            ("flowwatch_backend_handshakes_total", "namespace=\"web\",service=\"storefront\",pod=\"storefront-1\",outcome=\"refused\"", "0+3x40"),
            ("flowwatch_backend_handshakes_total", "namespace=\"web\",service=\"storefront\",pod=\"storefront-0\",outcome=\"completed\"", "0+9x40"),
            ("flowwatch_node_connectivity", "node=\"node-1\"", "0x40"),
            ("flowwatch_node_connectivity", "node=\"node-2\"", "1x40"),
            ("flowwatch_node_handshakes_total", "node=\"node-1\",direction=\"ingress\",outcome=\"failed\"", "0+5x40"),
            ("flowwatch_node_handshakes_total", "node=\"node-1\",direction=\"ingress\",outcome=\"completed\"", "0+1x40"),
            ("flowwatch_hubble_connected", "target=\"hubble-relay:80\"", "1x40"),
            ("flowwatch_hubble_reconnects_total", "target=\"hubble-relay:80\"", "0+0x40"),
            ("flowwatch_lost_events_total", "source=\"PERF_EVENT_RING_BUFFER\"", "0+1x40"),
            ("flowwatch_shed_total", "queue=\"intake\"", "0x40"),
            ("flowwatch_intake_queue_depth", "", "5x40"),
            ("flowwatch_event_time_lag_seconds", "", "0.5x40"),
            ("flowwatch_bad_input_total", "source=\"hubble\"", "0x40"),
            ("flowwatch_store_flows", "", "1000x40"),
            ("flowwatch_store_evicted_total", "", "0x40"),
        ];
        for (var i = 0; i < Clusters.Length; i++)
        {
            var target = $"job=\"flowwatch\",instance=\"10.0.{i + 1}.5:9090\"";
            foreach (var (metric, labels, values) in shapes)
                yield return ($"{metric}{{cluster=\"{Clusters[i]}\",{target}{(labels.Length > 0 ? "," + labels : "")}}}", values);
            yield return ($"up{{{target}}}", "1x40");
        }
    }

    private static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
