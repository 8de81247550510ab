using System.Text;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Alerting;

/// <summary>rules/ through promtool: the files are valid, every rule test passes, every alert is tested both ways,
/// and every dashboard query is valid PromQL.</summary>
public sealed class PromtoolTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task CheckRules_EveryRuleFileIsValid()
    {
        var files = RuleFiles.RuleFilePaths;
        Assert.NotEmpty(files);
        var result = await Promtool(["check", "rules", .. files]);
        Assert.True(result.ExitCode == 0, $"promtool check rules failed (exit {result.ExitCode}):\n{result.Output}");
        Assert.DoesNotContain("FAILED", result.Output);
    }

    [Fact]
    public async Task TestRules_EveryRuleTestPasses()
    {
        var files = RuleFiles.TestFilePaths;
        Assert.NotEmpty(files);
        var result = await Promtool(["test", "rules", .. files]);
        Assert.True(result.ExitCode == 0, $"promtool test rules failed (exit {result.ExitCode}):\n{result.Output}");
        Assert.Equal(files.Count, CountOccurrences(result.Output, "SUCCESS"));
    }

    [Fact]
    public void EveryAlert_HasARuleTestWhereItFires_AndOneWhereItDoesNot()
    {
        var fires = new HashSet<string>(StringComparer.Ordinal);
        var quiet = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in RuleFiles.TestFilePaths)
            foreach (var test in RuleFiles.Seq(RuleFiles.Load(file), "tests"))
                foreach (var alertTest in RuleFiles.Seq(test, "alert_rule_test"))
                {
                    var name = RuleFiles.Str(alertTest, "alertname") ?? "";
                    var expected = RuleFiles.Seq(alertTest, "exp_alerts").Count();
                    (expected > 0 ? fires : quiet).Add(name);
                }
        var problems = new List<string>();
        foreach (var alert in RuleFiles.Alerts)
        {
            if (!fires.Contains(alert.Alert!)) problems.Add($"{alert.Alert}: no rule test expects it to fire");
            if (!quiet.Contains(alert.Alert!)) problems.Add($"{alert.Alert}: no rule test expects it not to fire");
        }
        var unknown = fires.Concat(quiet).Except(RuleFiles.Alerts.Select(a => a.Alert!)).ToList();
        problems.AddRange(unknown.Select(u => $"rule tests name alert {u}, which no rule file defines"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>Each panel and variable query of every dashboard, with variables substituted, as a recording rule that promtool parses.</summary>
    [Fact]
    public async Task DashboardQueries_AreValidPromQl()
    {
        var queries = DashboardFile.Names.SelectMany(name => DashboardFile.Queries(DashboardFile.Load(name)).Select(q => (Where: $"{name} {q.Where}", q.Query)))
            .Where(q => !q.Query.TrimStart().StartsWith("label_values(", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(queries);
        var yaml = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        for (var i = 0; i < queries.Count; i++)
        {
            yaml.Append($"      - record: dashboard_query_{i}\n");
            yaml.Append("        expr: |\n");
            foreach (var line in DashboardFile.Substitute(queries[i].Query).Split('\n')) yaml.Append("          ").Append(line).Append('\n');
        }
        var dir = Directory.CreateTempSubdirectory("flowwatch-dashboard-");
        try
        {
            var file = Path.Combine(dir.FullName, "dashboard-queries.yaml");
            await File.WriteAllTextAsync(file, yaml.ToString());
            var result = await Promtool(["check", "rules", file]);
            var legend = string.Join("\n", queries.Select((q, i) => $"dashboard_query_{i}: {q.Where}"));
            Assert.True(result.ExitCode == 0, $"a dashboard query is not valid PromQL:\n{result.Output}\n{legend}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private async Task<ProcessResult> Promtool(string[] args)
    {
        var result = await ProcessRunner.RunAsync(PrometheusTools.Promtool, args, TestPaths.RepoRoot, Timeout);
        output.WriteLine($"promtool {string.Join(' ', args.Select(a => Path.GetFileName(a) == a ? a : Path.GetRelativePath(TestPaths.RepoRoot, a)))}");
        output.WriteLine(result.Output);
        return result;
    }

    private static int CountOccurrences(string text, string word)
    {
        var n = 0;
        for (var i = text.IndexOf(word, StringComparison.Ordinal); i >= 0; i = text.IndexOf(word, i + word.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
