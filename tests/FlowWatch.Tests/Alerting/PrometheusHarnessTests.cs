using FlowWatch.Hosting;
using FlowWatch.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus_ = Prometheus;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Alerting;

/// <summary>A real Prometheus scraping FlowWatch's own /metrics endpoint (HttpEndpoint + PipelineMetrics) with
/// rules/ loaded: proves the harness, the rules as Prometheus loads them, one alert end to end, and every dashboard query.</summary>
public sealed class PrometheusHarnessTests(PrometheusHarnessTests.Fixture fixture, ITestOutputHelper output)
    : IClassFixture<PrometheusHarnessTests.Fixture>
{
    private const string HubbleTarget = "127.0.0.1:4245";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task HubbleDisconnectedAlert_GoesPending_ThenResolves_WhenTheStreamIsBack()
    {
        var prom = fixture.Prometheus;
        fixture.Metrics.Connected.WithLabels(HubbleTarget).Set(0);

        var alert = await prom.WaitForAlertAsync("FlowWatchHubbleDisconnected", a => a.IsActive, Wait);
        output.WriteLine("seen: " + alert);
        Assert.Equal(HubbleTarget, alert.Labels["target"]);
        Assert.Equal("flowwatch", alert.Labels["job"]);
        Assert.Equal("warning", alert.Labels["severity"]);
        Assert.Contains(HubbleTarget, alert.Annotations["summary"]);
        Assert.Equal("docs/runbook.md#flowwatchhubbledisconnected", alert.Annotations["runbook_url"]);
        // A FlowWatch that is merely disconnected raises nothing else.
        var others = (await prom.AlertsAsync()).Where(a => a.Name != "FlowWatchHubbleDisconnected").ToList();
        Assert.True(others.Count == 0, "unexpected alerts: " + string.Join("; ", others));

        fixture.Metrics.Connected.WithLabels(HubbleTarget).Set(1);
        await prom.WaitForAlertGoneAsync("FlowWatchHubbleDisconnected", Wait);
    }

    [Fact]
    public async Task EveryRuleInRules_IsLoadedByPrometheus_AndEvaluatesWithoutError()
    {
        var prom = fixture.Prometheus;
        // Evaluated after a scrape, so lastError reflects real series (matching errors depend on data).
        await prom.WaitForSamplesAsync("up{job=\"flowwatch\"} == 1", Wait);
        await prom.WaitForSamplesAsync("flowwatch_flows_total", Wait);
        var loaded = await prom.WaitForRulesEvaluatedAfterAsync(DateTimeOffset.UtcNow, Wait);
        var expected = RuleFiles.All.Select(r => r.Name).Order().ToList();
        Assert.Equal(expected, loaded.Select(r => r.Name).Order().ToList());
        var errors = loaded.Where(r => r.Error is not null).Select(r => $"{r.Name}: {r.Error}").ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task EveryDashboardQuery_RunsAgainstRealPrometheus()
    {
        var prom = fixture.Prometheus;
        await prom.WaitForSamplesAsync("flowwatch_flows_total", Wait);
        var problems = new List<string>();
        var queries = DashboardFile.Names.SelectMany(name => DashboardFile.Queries(DashboardFile.Load(name))).ToList();
        foreach (var (where, query) in queries)
        {
            var q = DashboardFile.Substitute(query).Trim();
            try
            {
                if (q.StartsWith("label_values(", StringComparison.Ordinal))
                    await prom.SeriesAsync(q["label_values(".Length..q.LastIndexOf(',')].Trim());
                else
                    await prom.QueryAsync(q);
            }
            catch (InvalidOperationException e)
            {
                problems.Add($"{where}: {e.Message}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        // Series this endpoint exports reach the panels that show them. The panel is a rate: it has a series only once
        // two scrapes of it are in, which a loaded machine may not have made yet, so wait for that (the count is judged below).
        var flowsQuery = DashboardFile.Substitute(
            DashboardFile.Queries(DashboardFile.Load()).Single(q => q.Where.StartsWith("panel 'Flows by verdict'", StringComparison.Ordinal)).Query);
        await prom.WaitForSamplesAsync($"count({flowsQuery}) >= 8", Wait);
        var flows = await prom.QueryAsync(flowsQuery);
        output.WriteLine($"{queries.Count} queries ran; 'Flows by verdict' returned {flows.GetArrayLength()} series");
        Assert.True(flows.GetArrayLength() >= 8, "Flows by verdict should show every verdict FlowWatch pre-creates");
    }

    /// <summary>One FlowWatch HTTP endpoint (real PipelineMetrics on a private registry) and one Prometheus scraping it.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private HttpEndpoint? _endpoint;
        private PrometheusHarness? _prometheus;

        public PipelineMetrics Metrics { get; private set; } = null!;

        public PrometheusHarness Prometheus => _prometheus ?? throw new InvalidOperationException("not started");

        public async Task InitializeAsync()
        {
            var registry = Prometheus_.Metrics.NewCustomRegistry();
            Metrics = new PipelineMetrics(Prometheus_.Metrics.WithCustomRegistry(registry));
            Metrics.Connected.WithLabels(HubbleTarget).Set(1);
            _endpoint = await HttpEndpoint.StartAsync("127.0.0.1:0", registry, [], null, NullLoggerFactory.Instance, CancellationToken.None);
            try
            {
                _prometheus = await PrometheusHarness.StartAsync(new Uri(_endpoint.Address, "/metrics"), RuleFiles.RuleFilePaths);
            }
            catch
            {
                await _endpoint.DisposeAsync();
                throw;
            }
        }

        public async Task DisposeAsync()
        {
            if (_prometheus is not null) await _prometheus.DisposeAsync();
            if (_endpoint is not null) await _endpoint.DisposeAsync();
        }
    }
}
