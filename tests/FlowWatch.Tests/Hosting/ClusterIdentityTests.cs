using System.Text.Json;
using FlowWatch.Findings;
using FlowWatch.Hosting;
using FlowWatch.Hubble;
using FlowWatch.Replay;
using FlowWatch.Simulation;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Hosting;

/// <summary>--cluster: every metric series, every API answer and every finding names the cluster.</summary>
public sealed class ClusterIdentityTests(ITestOutputHelper output)
{
    private const string Cluster = "prod-eu-1";

    [Fact]
    public async Task EveryMetricSeries_EveryAnswer_AndEveryFinding_NameTheCluster()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await using var sim = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 3000, Scenarios = ScenarioSet.All });
        await sim.StartAsync(timeout.Token);
        await using var runtime = new FlowWatchRuntime(new RuntimeOptions { Listen = "127.0.0.1:0", Cluster = Cluster }, NullLoggerFactory.Instance);
        await runtime.StartHttpAsync(timeout.Token);
        foreach (var change in sim.ClusterView()) runtime.Intake.Write(change);
        var source = new HubbleStreamSource(sim.Address.ToString(), f => runtime.Intake.Write(f), runtime.Pipeline.Metrics);
        using var stop = new CancellationTokenSource();
        var pump = runtime.RunAsync(live: true, stop.Token);
        var stream = source.RunAsync(stop.Token);
        try
        {
            while (!runtime.Pipeline.Book.OpenFindings.Any(f => f.Kind == FindingKind.BackendUnhealthy) ||
                   !runtime.Pipeline.Book.OpenFindings.Any(f => f.Kind == FindingKind.DnsDrops))
            {
                timeout.Token.ThrowIfCancellationRequested();
                await Task.Delay(50, timeout.Token);
            }
            using var http = new HttpClient { BaseAddress = runtime.HttpAddress };

            var metrics = await http.GetStringAsync("/metrics", timeout.Token);
            var series = metrics.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
            var unlabelled = series.Where(l => !l.Contains($"cluster=\"{Cluster}\"", StringComparison.Ordinal)).ToList();
            output.WriteLine($"{series.Count} series, {series.Select(l => l.Split('{', ' ')[0]).Distinct().Count()} families");
            Assert.True(series.Count > 100, $"only {series.Count} series exported");
            Assert.True(unlabelled.Count == 0, "series without the cluster label:\n" + string.Join("\n", unlabelled.Take(20)));

            var findings = runtime.Pipeline.Book.All;
            var paths = new List<string> { "/", "/api/v1", "/api/v1/flows?limit=20", "/api/v1/findings", "/api/v1/findings?state=nonsense",
                "/api/v1/flows?bogus=1", "/api/v1/pods/shop/nosuchpod/health", "/api/v1/services/web/nosuch/backends" };
            foreach (var f in findings)
            {
                if (f.Subject.Pod.Length > 0) paths.Add($"/api/v1/pods/{f.Subject.Namespace}/{f.Subject.Pod}/health");
                if (f.Subject.Service.Length > 0) paths.Add($"/api/v1/services/{f.Subject.Namespace}/{f.Subject.Service}/backends");
            }
            var checkedFindings = 0;
            foreach (var path in paths.Distinct())
            {
                using var response = await http.GetAsync(path, timeout.Token);
                using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(timeout.Token));
                Assert.True(doc.RootElement.TryGetProperty("cluster", out var c) && c.GetString() == Cluster,
                    $"{path} ({(int)response.StatusCode}) does not name cluster {Cluster}: {doc.RootElement.GetRawText()[..Math.Min(200, doc.RootElement.GetRawText().Length)]}");
                if (doc.RootElement.TryGetProperty("findings", out var list))
                    foreach (var f in list.EnumerateArray())
                    {
                        Assert.Equal(Cluster, f.GetProperty("cluster").GetString());
                        checkedFindings++;
                    }
            }
            Assert.True(checkedFindings > 0, "no finding was checked");
            Assert.All(findings, f => Assert.Equal(Cluster, f.Cluster));
            output.WriteLine($"{paths.Distinct().Count()} answers, {checkedFindings} findings in them, all name {Cluster}");
        }
        finally
        {
            stop.Cancel();
            await stream;
            await pump;
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("-leading-dash")]
    [InlineData("has space")]
    [InlineData("quote\"d")]
    public void ABadClusterName_IsRefused_BeforeAnythingStarts(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => new FlowWatchRuntime(new RuntimeOptions { Listen = "127.0.0.1:0", Cluster = name }, NullLoggerFactory.Instance));
        Assert.Contains("cluster name", e.Message);
    }

    [Fact]
    public void Findings_GetTheBooksCluster_AndKeepTheirOwn()
    {
        var book = new FindingBook(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())) { Cluster = "a" };
        var t = DateTimeOffset.UnixEpoch.AddYears(56);
        var f = new Finding("dns_drops/shop/cart", FindingKind.DnsDrops, Severity.Critical, FindingState.Open, new FindingSubject("shop", "cart"),
            new Dictionary<string, long>(), t, t, "s", []);
        Assert.Equal("a", book.Apply(f).Cluster);
        Assert.Equal("b", book.Apply(f with { Id = "x", Cluster = "b" }).Cluster);
        Assert.Equal(["a", "b"], book.OpenFindings.Select(x => x.Cluster).Order());
        book.Restore([f with { Id = "restored" }]);
        Assert.Equal("a", book.OpenFindings.Single(x => x.Id == "restored").Cluster);
    }

    [Fact]
    public void TheReplayReport_NamesTheCluster_AndSoDoesEachFinding()
    {
        var t = DateTimeOffset.UnixEpoch.AddYears(56);
        var f = new Finding("dns_drops/shop/cart", FindingKind.DnsDrops, Severity.Critical, FindingState.Open, new FindingSubject("shop", "cart"),
            new Dictionary<string, long>(), t, t, "s", []) { Cluster = "replayed" };
        var summary = new ReplaySummary(["a.jsonl"], 1, 0, [], t, t, new Dictionary<FlowWatch.Flows.Verdict, long>(), new Dictionary<string, ulong>(), [f], TimeSpan.FromSeconds(1))
        { FlowsPerFile = [1], Cluster = "replayed" };
        using var doc = JsonDocument.Parse(JsonSerializer.Serialize(ReplayReport.From(summary), FlowWatch.Api.ApiJson.Options));
        Assert.Equal("replayed", doc.RootElement.GetProperty("cluster").GetString());
        Assert.Equal("replayed", doc.RootElement.GetProperty("findings")[0].GetProperty("cluster").GetString());
        Assert.Contains("(cluster replayed)", summary.ToText());
    }
}
