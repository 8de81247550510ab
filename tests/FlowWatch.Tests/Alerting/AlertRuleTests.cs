using System.Text.RegularExpressions;
using FlowWatch.Tests.Support;

namespace FlowWatch.Tests.Alerting;

/// <summary>What on-call relies on in every alert: a for:, a severity, text that says what to check, a runbook
/// section that exists, and expressions over metrics FlowWatch really exports.</summary>
public sealed partial class AlertRuleTests
{
    /// <summary>The alerts the issue asks for; renaming one breaks routes and silences, so it must be deliberate.</summary>
    private static readonly string[] RequiredAlerts =
    [
        "FlowWatchDnsLookupsDropped", "FlowWatchDuplicatePodIp", "FlowWatchUnmanagedPods", "FlowWatchAsymmetricPath",
        "FlowWatchNodePortBackendUnhealthy", "FlowWatchNodeConnectivityCollapse", "FlowWatchHubbleDisconnected", "FlowWatchHubbleLosingEvents", "FlowWatchSheddingLoad",
    ];

    [Fact]
    public void RequiredAlerts_AreAllDefined()
    {
        var defined = RuleFiles.Alerts.Select(a => a.Alert!).ToHashSet();
        Assert.Empty(RequiredAlerts.Where(a => !defined.Contains(a)));
        Assert.Equal(defined.Count, RuleFiles.Alerts.Count); // no alert name defined twice
    }

    [Fact]
    public void EveryAlert_HasAShortForSeverityAndAnnotations()
    {
        var problems = new List<string>();
        foreach (var a in RuleFiles.Alerts)
        {
            if (a.For is null) problems.Add($"{a.Alert}: no for:");
            else if (PromDuration.Parse(a.For) is not { } d || d < TimeSpan.FromSeconds(30) || d > TimeSpan.FromMinutes(2))
                problems.Add($"{a.Alert}: for: {a.For} is outside 30s..2m (an e2e test at a 1-2 s scrape must see it fire within ~2 minutes)");
            if (!a.Labels.TryGetValue("severity", out var sev) || sev is not ("critical" or "warning" or "info"))
                problems.Add($"{a.Alert}: severity label missing or not critical/warning/info");
            foreach (var key in new[] { "summary", "description", "runbook_url" })
                if (!a.Annotations.TryGetValue(key, out var text) || string.IsNullOrWhiteSpace(text))
                    problems.Add($"{a.Alert}: annotation {key} missing");
            if (a.Annotations.TryGetValue("description", out var description) && !description.Contains("First check", StringComparison.Ordinal))
                problems.Add($"{a.Alert}: description does not say what to check first");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void EveryRunbookUrl_PointsAtASectionOfTheRunbook()
    {
        var runbook = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "runbook.md"));
        var anchors = Heading().Matches(runbook).Select(m => GitHubAnchor(m.Groups[1].Value)).ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var a in RuleFiles.Alerts)
        {
            var url = a.Annotations.GetValueOrDefault("runbook_url", "");
            var hash = url.IndexOf('#');
            if (hash < 0 || !url[..hash].EndsWith("docs/runbook.md", StringComparison.Ordinal))
                problems.Add($"{a.Alert}: runbook_url '{url}' is not docs/runbook.md#section");
            else if (!anchors.Contains(url[(hash + 1)..]))
                problems.Add($"{a.Alert}: runbook_url anchor '{url[(hash + 1)..]}' has no heading in docs/runbook.md");
            if (!anchors.Contains(GitHubAnchor(a.Alert!)))
                problems.Add($"{a.Alert}: docs/runbook.md has no section '## {a.Alert}'");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void EveryRuleExpression_UsesOnlyExportedMetricsOrRecordedSeries()
    {
        var recorded = RuleFiles.RecordedNames;
        var problems = new List<string>();
        foreach (var rule in RuleFiles.All)
        {
            var names = PromQlNames.MetricNames(rule.Expr);
            if (names.Count == 0) problems.Add($"{rule.File} {rule.Name}: expression reads no metric");
            foreach (var n in names)
                if (!FlowWatchMetricContract.Names.Contains(n) && !recorded.Contains(n))
                    problems.Add($"{rule.File} {rule.Name}: '{n}' is neither a FlowWatch metric nor a recording rule");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>One Prometheus over many clusters: every grouping keeps cluster, so no rule sums one cluster into
    /// another (rules/tests/clusters.yaml shows the difference it makes), and every alert's summary names it.</summary>
    [Fact]
    public void EveryGrouping_KeepsCluster_AndEverySummaryNamesIt()
    {
        var problems = new List<string>();
        foreach (var rule in RuleFiles.All)
        {
            var aggregations = AggregationWithoutGrouping().Matches(rule.Expr).Select(m => m.Value).ToList();
            problems.AddRange(aggregations.Select(a => $"{rule.File} {rule.Name}: '{a.Trim()}' aggregates over every cluster"));
            foreach (Match m in Grouping().Matches(rule.Expr))
                if (m.Groups["how"].Value is "by" or "on" && !m.Groups["labels"].Value.Split(',').Select(l => l.Trim()).Contains("cluster")
                    && !IsUpFallback(rule, m))
                    problems.Add($"{rule.File} {rule.Name}: '{m.Value}' drops cluster");
            if (rule.Alert is not null && !rule.Annotations.GetValueOrDefault("summary", "").Contains("$labels.cluster", StringComparison.Ordinal))
                problems.Add($"{rule.Alert}: summary does not name the cluster");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    // FlowWatchDown joins up (which has no cluster when FlowWatch sets it itself) to the instance's FlowWatch series
    // on (job, instance): that is where the cluster comes from.
    private static bool IsUpFallback(RuleDefinition rule, Match m) =>
        rule.Alert == "FlowWatchDown" && m.Groups["labels"].Value.Replace(" ", "") == "job,instance";

    [Fact]
    public void PromQlNames_FindsMetricsButNotFunctionsLabelsOrKeywords()
    {
        var names = PromQlNames.MetricNames(
            "sum by (job, instance) (rate(flowwatch_lost_events_total{source=~\"a|b\"}[5m])) / on (job) group_left () " +
            "(x:recorded:rate5m offset 5m > bool 1e3) or absent(up{job=~\".*flowwatch.*\"})");
        Assert.Equal(new[] { "flowwatch_lost_events_total", "up", "x:recorded:rate5m" }, names.Order());
        Assert.Equal(new[] { "a_total", "b" },
            PromQlNames.MetricNames("label_values({__name__=~\"a_total|b\", namespace=~\"$namespace\"}, workload)").Order());
    }

    private static string GitHubAnchor(string heading) =>
        Regex.Replace(heading.Trim().ToLowerInvariant(), @"[^a-z0-9 _-]", "").Replace(' ', '-');

    [GeneratedRegex(@"\b(?<how>by|without|on|ignoring)\s*\((?<labels>[^()]*)\)")]
    private static partial Regex Grouping();

    // An aggregation written agg(...) with no by () in front (rules/ always write agg by (...) (...)).
    [GeneratedRegex(@"\b(?:sum|max|min|avg|count|group|stddev|stdvar|topk|bottomk|quantile)\s*\(")]
    private static partial Regex AggregationWithoutGrouping();

    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*$", RegexOptions.Multiline)]
    private static partial Regex Heading();
}
