using System.Net;
using System.Text.Json;
using FlowWatch.Api;
using FlowWatch.Detectors;
using FlowWatch.Findings;
using FlowWatch.Hosting;
using FlowWatch.Store;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Tests.Api;

/// <summary>Pod health and service backends as the API assembles them from whatever detectors implement the insight interfaces.</summary>
public sealed class FakeInsightApiTests
{
    private sealed class FakeDetector : IDetector, IPodInsight, IBackendInsight
    {
        public string Name => "fake";
        public string Section => "handshakes";
        public IObservable<Finding> Attach(DetectorContext context) => System.Reactive.Linq.Observable.Empty<Finding>();
        public void Dispose() { }
        public bool KnowsPod(string ns, string pod) => ns == "shop" && pod == "web-1";
        public object? DescribePod(string ns, string pod) => new { completed = 12, reply_lost = 3 };
        public IReadOnlyList<(string Namespace, string Service)> Services => [("shop", "web")];
        public IReadOnlyList<BackendHealth>? DescribeService(string ns, string service) => ns == "shop" && service == "web"
            ? [new BackendHealth("shop", "web", "web-1", "node-1", "10.1.1.5", 8080, 30080, "unhealthy", 0,
                new Dictionary<string, long> { ["completed"] = 2, ["refused"] = 40 }, new Dictionary<string, long>(), null, true, null)]
            : null;
    }

    private static async Task<(HttpEndpoint Http, HttpClient Client)> Start()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        var context = new QueryApiContext(new FlowStore(new FlowStoreOptions { MaxFlows = 4096 }, factory), new FindingBook(factory),
            [new FakeDetector()], TimeProvider.System);
        var http = await HttpEndpoint.StartAsync("127.0.0.1:0", registry, [], app => QueryApi.Map(app, context), NullLoggerFactory.Instance, CancellationToken.None);
        return (http, new HttpClient { BaseAddress = http.Address });
    }

    [Fact]
    public async Task Backends_OfAKnownService_ListsEachBackendsHealth()
    {
        var (http, client) = await Start();
        await using var _ = http;
        using var __ = client;
        var raw = await client.GetStringAsync("/api/v1/services/shop/web/backends");
        var answer = JsonSerializer.Deserialize<BackendsResponse>(raw, ApiJson.Options)!;
        var backend = Assert.Single(answer.Backends);
        Assert.Equal("unhealthy", backend.State);
        Assert.Equal(40, backend.Handshakes["refused"]);
        Assert.Contains("\"target_port\":8080", raw);

        var missing = await client.GetAsync("/api/v1/services/shop/api/backends");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("shop/web", await missing.Content.ReadAsStringAsync());   // names the services it does know
    }

    [Fact]
    public async Task Health_HasTheSectionOfEachDetectorThatKnowsThePod_And404Otherwise()
    {
        var (http, client) = await Start();
        await using var _ = http;
        using var __ = client;
        var answer = JsonSerializer.Deserialize<PodHealthResponse>(await client.GetStringAsync("/api/v1/pods/shop/web-1/health"), ApiJson.Options)!;
        Assert.Equal(["handshakes"], answer.KnownBy);
        Assert.Equal(3, ((JsonElement)answer.Sections["handshakes"]).GetProperty("reply_lost").GetInt32());
        Assert.Empty(answer.RecentDrops);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/pods/shop/web-2/health")).StatusCode);
    }
}
