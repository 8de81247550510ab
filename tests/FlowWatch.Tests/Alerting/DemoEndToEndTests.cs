using System.Text.Json;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Alerting;

/// <summary>The two demo runs share the machine's two cores with nothing else of ours, and never overlap.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DemoEndToEndCollection
{
    public const string Name = "demo end-to-end";
}

/// <summary>End to end, every scenario on: the real CLI's <c>flowwatch demo</c>, a real Prometheus scraping it every
/// second with rules/ loaded (for: divided by <see cref="DemoRun.ForDivisor"/>, expressions unchanged). Each scenario's
/// alerts (<see cref="ScenarioAlerts.Table"/>) fire, nothing else does, and every dashboard query returns data.</summary>
[Collection(DemoEndToEndCollection.Name)]
public sealed class DemoAllScenariosEndToEndTests(DemoAllScenariosEndToEndTests.Fixture fixture, ITestOutputHelper output)
    : IClassFixture<DemoAllScenariosEndToEndTests.Fixture>
{
    /// <summary>Each scenario has this long from the demo's start to make its alerts fire.</summary>
    public static readonly TimeSpan ScenarioDeadline = TimeSpan.FromSeconds(90);

    private DemoRun Run => fixture.Run;

    [Fact]
    public async Task EveryRule_IsLoaded_AndEvaluatesWithoutError_OnTheDemosMetrics()
    {
        var loaded = await Run.Prometheus.WaitForRulesEvaluatedAfterAsync(DateTimeOffset.UtcNow, TimeSpan.FromSeconds(15));
        Assert.Equal(RuleFiles.All.Select(r => r.Name).Order().ToList(), loaded.Select(r => r.Name).Order().ToList());
        var errors = loaded.Where(r => r.Error is not null).Select(r => $"{r.Name}: {r.Error}").ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    public static TheoryData<string> Scenarios => new(ScenarioAlerts.Table.Select(e => e.Scenario).Distinct());

    /// <summary>(dashboard file, row title) of every row of every dashboard in grafana/.</summary>
    public static TheoryData<string, string> DashboardRows
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var name in DashboardFile.Names)
                foreach (var row in DashboardFile.PanelQueriesByRow(DashboardFile.Load(name)).Select(q => q.Row).Distinct())
                    data.Add(name, row);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task EveryAlertOfTheScenario_Fires(string scenario)
    {
        var original = RuleFiles.Alerts.ToDictionary(a => a.Alert!, a => PromDuration.Parse(a.For!)!.Value, StringComparer.Ordinal);
        output.WriteLine($"time to fire from `flowwatch demo --scenario {Run.Scenarios}` start (scrape 1 s, eval 1 s, for: divided by {DemoRun.ForDivisor}):");
        var problems = new List<string>();
        foreach (var expected in ScenarioAlerts.Table.Where(e => e.Scenario == scenario))
        {
            var scaledFor = Run.Rules.ScaledFor[expected.Alert];
            if (Run.FiringAt(expected) is { } at)
            {
                var production = at - scaledFor + original[expected.Alert];
                output.WriteLine($"  {expected}: firing at {at.TotalSeconds:0.0} s with for: {PromDuration.Format(scaledFor)} " +
                                 $"(≈ {production.TotalSeconds:0} s with the production for: {PromDuration.Format(original[expected.Alert])})");
                continue;
            }
            output.WriteLine($"  {expected}: DID NOT FIRE within {Run.Observed.TotalSeconds:0} s");
            problems.Add($"{expected} did not fire within {Run.Observed.TotalSeconds:0} s of the demo's start. " +
                         await WhyNotAsync(expected.Alert));
        }
        Assert.True(problems.Count == 0,
            string.Join("\n", problems) + $"\nalerts seen: [{string.Join("; ", Run.Seen)}]\ndemo log (tail):\n{Tail(Run.Demo.RecentLog, 8)}");
    }

    [Fact]
    public async Task OnlyTheTablesAlertsFire_AndFlowWatchHealthAlertsStaySilent()
    {
        // The health alerts' (scaled) for: has passed by the time the fixture stops watching, so they had time to fire.
        Assert.True(Run.Observed - Run.PrometheusReadyAt >= Fixture.Minimum,
            $"observed only {(Run.Observed - Run.PrometheusReadyAt).TotalSeconds:0} s of Prometheus' rule evaluations");
        var allowed = ScenarioAlerts.ScenarioAlertNames;
        var unexpected = Run.Seen.Where(s => s.FiringAt is not null && !allowed.Contains(s.Alert.Name)).ToList();
        var health = (await Run.Prometheus.AlertsAsync()).Where(a => DemoRun.HealthAlertNames.Contains(a.Name)).ToList();
        Assert.True(unexpected.Count == 0, "alerts no scenario explains fired: " + string.Join("; ", unexpected));
        Assert.True(health.Count == 0, "FlowWatch-health alerts active at the end: " + string.Join("; ", health));
        output.WriteLine($"watched {Run.Observed.TotalSeconds:0} s; health alerts that stayed silent: {string.Join(", ", DemoRun.HealthAlertNames.Order())}");
    }

    [Theory]
    [MemberData(nameof(DashboardRows))]
    public async Task EveryDashboardQueryOfTheRow_WithItsVariablesFilledIn_ReturnsData(string dashboardName, string row)
    {
        var problems = new List<string>();
        var dashboard = DashboardFile.Load(dashboardName);
        var queries = DashboardFile.PanelQueriesByRow(dashboard).Where(q => q.Row == row).ToList();
        Assert.NotEmpty(queries);
        // The variables this row's panels use offer values (their label_values queries are what Grafana runs first,
        // in the dashboard's order: $namespace's query reads $cluster). A variable without "All" takes its first value,
        // as Grafana does; one with "All" is sent as its allValue, .* (the dashboard's default selection).
        var used = queries.SelectMany(q => DashboardFile.VariableReferences(q.Query)).ToHashSet(StringComparer.Ordinal);
        var chosen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in DashboardFile.Variables(dashboard).Where(v => (string?)v["type"] == "query" && used.Contains((string)v["name"]!)))
        {
            var name = (string)variable["name"]!;
            var query = DashboardFile.VariableQuery(variable)!;
            var values = await LabelValuesAsync(DashboardFile.Substitute(query, chosen), problems, $"variable ${name}");
            output.WriteLine($"  variable ${name}: {values.Count} value(s): {string.Join(", ", values.Take(8))}");
            if (values.Count == 0) problems.Add($"variable ${name}: {query} offers no values");
            else if (!((bool?)variable["includeAll"] ?? false)) chosen[name] = values[0];
        }
        foreach (var (_, where, query) in queries)
        {
            var promql = DashboardFile.Substitute(query, chosen);
            try
            {
                var result = await Run.Prometheus.QueryAsync(promql);
                output.WriteLine($"  {where}: {result.GetArrayLength()} series {string.Join(" ", result.EnumerateArray().Take(4).Select(Describe))}");
                if (result.GetArrayLength() == 0) problems.Add($"{where}: no data for {promql}" + await MissingMetricsAsync(query));
                // The fleet dashboard puts clusters side by side: each of its series is one cluster's.
                if (dashboardName == DashboardFile.Fleet)
                    foreach (var series in result.EnumerateArray())
                        if (!series.GetProperty("metric").TryGetProperty("cluster", out var cluster) || string.IsNullOrEmpty(cluster.GetString()))
                            problems.Add($"{where}: series {Describe(series)} names no cluster");
            }
            catch (InvalidOperationException e)
            {
                problems.Add($"{where}: {e.Message}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>Names the raw FlowWatch metrics a query reads (through recording rules too) that Prometheus holds no series of.</summary>
    private async Task<string> MissingMetricsAsync(string query)
    {
        var missing = new List<string>();
        foreach (var metric in RawMetrics(query).Order())
            if ((await Run.Prometheus.QueryAsync(metric)).GetArrayLength() == 0) missing.Add(metric);
        return missing.Count == 0 ? "" : $" (the demo exports no series of {string.Join(", ", missing)})";
    }

    private static IEnumerable<string> RawMetrics(string query) =>
        PromQlNames.MetricNames(query).SelectMany(n => RuleFiles.All.FirstOrDefault(r => r.Record == n) is { } rule ? RawMetrics(rule.Expr) : [n]).Distinct();

    /// <summary>Explains a silent alert by the series its expression reads.</summary>
    private async Task<string> WhyNotAsync(string alert)
    {
        var rule = RuleFiles.Alerts.Single(a => a.Alert == alert);
        var parts = new List<string>();
        foreach (var metric in PromQlNames.MetricNames(rule.Expr).Order())
        {
            var series = await Run.Prometheus.QueryAsync(metric);
            parts.Add(series.GetArrayLength() == 0
                ? $"{metric}: no series (the demo does not export it)"
                : $"{metric}: {string.Join(", ", series.EnumerateArray().Take(6).Select(Describe))}");
        }
        return "Its expression reads " + string.Join("; ", parts);
    }

    private async Task<IReadOnlyList<string>> LabelValuesAsync(string query, List<string> problems, string where)
    {
        // label_values(selector, label) → the label's values over the selector's series, as Grafana asks /api/v1/series.
        var open = query.IndexOf('(');
        var comma = query.LastIndexOf(',');
        if (!query.StartsWith("label_values(", StringComparison.Ordinal) || comma < open || !query.EndsWith(')'))
        {
            problems.Add($"{where}: not label_values(selector, label): {query}");
            return [];
        }
        var selector = query[(open + 1)..comma].Trim();
        var label = query[(comma + 1)..^1].Trim();
        try
        {
            var series = await Run.Prometheus.SeriesAsync(selector);
            return series.EnumerateArray().Select(s => s.TryGetProperty(label, out var v) ? v.GetString() : null)
                .OfType<string>().Distinct().Order().ToList();
        }
        catch (InvalidOperationException e)
        {
            problems.Add($"{where}: {e.Message}");
            return [];
        }
    }

    private static string Describe(JsonElement sample) =>
        "{" + string.Join(",", sample.GetProperty("metric").EnumerateObject().Where(p => p.Name is not ("__name__" or "job" or "instance"))
            .Select(p => $"{p.Name}={p.Value.GetString()}")) + "}=" + sample.GetProperty("value")[1].GetString();

    internal static string Tail(string text, int lines) => string.Join("\n", text.Split('\n').TakeLast(lines));

    /// <summary>Starts the run and watches it until every table alert fires (and the health alerts had time to) or the deadline.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        /// <summary>The longest scaled health for: plus a few evaluations: a health alert that would fire has done so
        /// this long after Prometheus is ready.</summary>
        public static readonly TimeSpan Minimum =
            RuleFiles.Alerts.Where(a => DemoRun.HealthAlertNames.Contains(a.Alert!)).Max(a => PromDuration.Parse(a.For!)!.Value) / DemoRun.ForDivisor
            + TimeSpan.FromSeconds(5);

        private DemoRun? _run;

        public DemoRun Run => _run ?? throw new InvalidOperationException("not started");

        public async Task InitializeAsync()
        {
            _run = await DemoRun.StartAsync(ScenarioAlerts.AllScenarios);
            try
            {
                await _run.ObserveAsync(ScenarioAlerts.Table, Minimum, ScenarioDeadline);
            }
            catch
            {
                await DisposeAsync();
                throw;
            }
        }

        public async Task DisposeAsync()
        {
            if (_run is not null) await _run.DisposeAsync();
        }
    }
}

/// <summary>End to end with <c>--scenario none</c>: the same demo, Prometheus and rules, and no alert fires.</summary>
[Collection(DemoEndToEndCollection.Name)]
public sealed class DemoNoScenarioEndToEndTests(DemoNoScenarioEndToEndTests.Fixture fixture, ITestOutputHelper output)
    : IClassFixture<DemoNoScenarioEndToEndTests.Fixture>
{
    /// <summary>How long Prometheus evaluates the rules over the scenario-free demo: longer than every scenario alert
    /// took to fire with its scenario on (18-28 s from the demo's start, Prometheus being ready 2-8 s after it;
    /// measured by DemoAllScenariosEndToEndTests.EveryAlertOfTheScenario_Fires) and than the health alerts' scaled for:.</summary>
    public static readonly TimeSpan Watch = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task NoAlertFires_WithEveryScenarioOff()
    {
        var run = fixture.Run;
        // Not vacuous: Prometheus scraped the demo and the rules ran over flowing traffic.
        var flowing = await run.Prometheus.QueryAsync("sum(rate(flowwatch_flows_total{job=\"flowwatch\"}[30s])) > 100");
        Assert.True(flowing.GetArrayLength() == 1, "the demo's flows did not reach Prometheus");
        var loaded = await run.Prometheus.RulesAsync();
        Assert.Equal(RuleFiles.All.Count, loaded.Count);
        var fired = run.Seen.Where(s => s.FiringAt is not null).ToList();
        var active = await run.Prometheus.AlertsAsync();
        output.WriteLine($"watched {run.Observed.TotalSeconds:0} s of `flowwatch demo --scenario none`; alerts seen: [{string.Join("; ", run.Seen)}]");
        Assert.True(fired.Count == 0, "alerts fired with every scenario off: " + string.Join("; ", fired));
        Assert.True(active.Count == 0, "alerts active at the end with every scenario off: " + string.Join("; ", active));
    }

    /// <summary>Starts the run with every scenario off and watches it for <see cref="Watch"/>.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private DemoRun? _run;

        public DemoRun Run => _run ?? throw new InvalidOperationException("not started");

        public async Task InitializeAsync()
        {
            _run = await DemoRun.StartAsync("none");
            try
            {
                await _run.ObserveAsync([], Watch, deadline: Watch);
            }
            catch
            {
                await DisposeAsync();
                throw;
            }
        }

        public async Task DisposeAsync()
        {
            if (_run is not null) await _run.DisposeAsync();
        }
    }
}
