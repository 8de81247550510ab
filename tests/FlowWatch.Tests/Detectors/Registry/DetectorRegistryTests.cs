using FlowWatch.Cli.Commands;
using FlowWatch.Detectors.Registry;
using FlowWatch.Findings;
using FlowWatch.Hosting;
using FlowWatch.Kubernetes.Events;
using FlowWatch.Pipeline;
using FlowWatch.Simulation;
using FlowWatch.Tests.Alerting;
using FlowWatch.Tests.Detectors.Dns;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Detectors.Registry;

/// <summary>The registry is the one list: every detector's flags, kinds and metrics, read from it, are what --help, the
/// README, rules/, the dashboard, the event publisher and a running pipeline actually show.</summary>
public sealed class DetectorRegistryTests(ITestOutputHelper output)
{
    private static readonly IReadOnlyList<DetectorDescriptor> All = DetectorRegistry.All;

    [Fact]
    public void EveryFindingKind_IsRegisteredOnce_WithUniqueApiNameAlertsAndEventReason()
    {
        var kinds = DetectorRegistry.Kinds.ToList();
        Assert.Equal(Enum.GetValues<FindingKind>().Order(), kinds.Select(k => k.Kind).Order());
        Assert.Equal(kinds.Count, kinds.Select(k => k.ApiName).Distinct().Count());
        Assert.Equal(kinds.Count, kinds.Select(k => k.EventReason).Distinct().Count());
        foreach (var k in kinds)
        {
            Assert.Equal(k.ApiName, Finding.KindName(k.Kind));
            Assert.True(Finding.TryParseKind(k.ApiName, out var parsed) && parsed == k.Kind);
            Assert.Equal(k.EventReason, FindingEventPublisher.Reason(k.Kind));
            Assert.NotEmpty(k.Alerts);
            Assert.Matches("^[a-z_]+$", k.ApiName);
            output.WriteLine($"{k.ApiName}: alerts {string.Join(", ", k.Alerts)}; event reason {k.EventReason}");
        }
    }

    [Fact]
    public void EveryDetectorFlag_IsInTheHelpOfWatchDemoAndReplay_WithItsDefault()
    {
        foreach (var spec in new[] { WatchCommand.Spec, DemoCommand.Spec, ReplayCommand.Spec })
        {
            var help = spec.Help();
            foreach (var flag in DetectorRegistry.Flags)
            {
                Assert.Contains("--" + flag.Name, help);
                if (flag.Default(DetectorSettings.Default) is { } d)
                    Assert.Contains(d, help.Split('\n').First(l => l.Contains("--" + flag.Name + " ", StringComparison.Ordinal) || l.TrimEnd().EndsWith("--" + flag.Name, StringComparison.Ordinal)) +
                        string.Join("\n", help.Split('\n').SkipWhile(l => !l.Contains("--" + flag.Name, StringComparison.Ordinal)).Take(3)));
            }
        }
        var names = DetectorRegistry.Flags.Select(f => f.Name).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void EveryDetectorMetric_IsInTheReadmeMetricTable()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));
        var missing = All.SelectMany(d => d.Metrics).Concat(DetectorRegistry.CommonMetrics)
            .Where(m => !readme.Contains($"| `{m}` |", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "README metric table lacks: " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryKindsAlerts_AreInRules_WithARunbookSection_AndEveryDetectorHasADashboardPanel()
    {
        var alerts = RuleFiles.Alerts.Select(a => a.Alert!).ToHashSet(StringComparer.Ordinal);
        var runbook = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "runbook.md"));
        var queries = DashboardFile.Queries(DashboardFile.Load()).Select(q => q.Query).ToList();
        var recorded = RuleFiles.All.Where(r => r.Record is not null).ToDictionary(r => r.Record!, r => r.Expr, StringComparer.Ordinal);
        foreach (var d in All)
        {
            foreach (var alert in d.Kinds.SelectMany(k => k.Alerts))
            {
                Assert.Contains(alert, alerts);
                Assert.Contains($"## {alert}\n", runbook);
            }
            // A panel reads one of the detector's metrics, directly or through a recording rule.
            var panel = queries.FirstOrDefault(q => PromQlNames.MetricNames(q)
                .SelectMany(n => recorded.TryGetValue(n, out var e) ? PromQlNames.MetricNames(e) : (IEnumerable<string>)[n]).Any(d.Metrics.Contains));
            Assert.True(panel is not null, $"no dashboard panel reads a metric of detector {d.Name} ({string.Join(", ", d.Metrics)})");
        }
    }

    [Fact]
    public void EveryDeclaredMetric_IsExportedByARunningPipeline_AndEveryDetectorMetricIsDeclared()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        using var pipeline = new FlowPipeline(DetectorSet.Create(DetectorSettings.Default), Prometheus.Metrics.WithCustomRegistry(registry));
        var start = Simulation.SimFlows.Start;
        pipeline.Start(start);
        var converter = new FlowWatch.Flows.FlowConverter(new FlowWatch.Flows.StringPool());
        foreach (var r in new TrafficGenerator(3, 5, ScenarioSet.All, 2_000).Generate(start, TimeSpan.FromSeconds(40)))
            if (r.Flow is not null) pipeline.Process(converter.Convert(r.Flow, r.NodeName));
        var text = MetricText.Export(registry);
        var exported = text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToHashSet();
        var declared = All.SelectMany(d => d.Metrics).Concat(DetectorRegistry.CommonMetrics).ToHashSet();
        Assert.Empty(declared.Except(exported));
        // Everything but the pipeline's, the finding book's and the store's own metrics belongs to a detector's descriptor.
        string[] notDetectors = ["flowwatch_flows_total", "flowwatch_lost_events_total", "flowwatch_shed_total", "flowwatch_hubble_", "flowwatch_intake_",
            "flowwatch_event_time_lag_seconds", "flowwatch_bad_input_total", "flowwatch_duplicate_flows_skipped_total", "flowwatch_findings",
            "flowwatch_bad_time_total", "flowwatch_late_flows_total", "flowwatch_reorder_"];
        var undeclared = exported.Where(m => m.StartsWith("flowwatch_", StringComparison.Ordinal) && !declared.Contains(m)
            && !notDetectors.Any(p => m.StartsWith(p, StringComparison.Ordinal))).ToList();
        Assert.True(undeclared.Count == 0, "exported by a detector but in no descriptor: " + string.Join(", ", undeclared));
    }

    [Fact]
    public void QuietPeriodFlag_ReachesEveryDetector()
    {
        var settings = DetectorRegistry.CommonFlags.Single(f => f.Name == "quiet-period").Apply(DetectorSettings.Default, TimeSpan.FromMinutes(7));
        Assert.All(All, d => Assert.Equal(TimeSpan.FromMinutes(7), d.QuietPeriod(settings)));
        Assert.All(Enum.GetValues<FindingKind>(), k => Assert.Equal(TimeSpan.FromMinutes(7), DetectorSet.QuietPeriod(settings, k)));
    }
}
