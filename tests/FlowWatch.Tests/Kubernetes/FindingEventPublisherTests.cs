using FlowWatch.Findings;
using FlowWatch.Kubernetes;
using FlowWatch.Kubernetes.Events;
using FlowWatch.Tests.Detectors.Dns;
using static FlowWatch.Tests.Kube.KubeObjects;

namespace FlowWatch.Tests.Kube;

/// <summary>Kubernetes Events for findings, posted through KubernetesClient to the fake API server.</summary>
public sealed class FindingEventPublisherTests
{
    private static Finding Open(string id, FindingKind kind, FindingSubject subject) =>
        new(id, kind, Severity.Critical, FindingState.Open, subject, new Dictionary<string, long>(), new(T0), new(T0), $"summary of {id}", []);

    private static (FindingEventPublisher Publisher, Prometheus.CollectorRegistry Registry, ManualTime Time) Publisher(
        FakeApiServer api, FindingEventOptions? options = null, ClusterView? view = null)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var time = new ManualTime(new(T0));
        var p = new FindingEventPublisher(api.Client(), view, options ?? new FindingEventOptions(), Prometheus.Metrics.WithCustomRegistry(registry), new ListLogger(), time);
        return (p, registry, time);
    }

    [Fact]
    public async Task Event_OnThePod_OncePerFinding_ThenPatchedAfterTheRepeatInterval()
    {
        await using var api = await FakeApiServer.StartAsync();
        var (publisher, registry, time) = Publisher(api);
        var f = Open("duplicate_ip/10.4.0.9", FindingKind.DuplicateIp, new FindingSubject(Namespace: "shop", Pod: "legacy-aaaaa", Ip: "10.4.0.9"));

        Assert.Equal("created", await publisher.PublishAsync(f, default));
        Assert.Equal("deduplicated", await publisher.PublishAsync(f, default));
        Assert.Equal("deduplicated", await publisher.PublishAsync(f, default));

        var (path, body) = Assert.Single(api.Posts);
        Assert.Equal("/api/v1/namespaces/shop/events", path);
        Assert.Equal("FlowWatchDuplicateIP", (string?)body["reason"]);
        Assert.Equal("Warning", (string?)body["type"]);
        Assert.Equal("Pod", (string?)body["involvedObject"]?["kind"]);
        Assert.Equal("legacy-aaaaa", (string?)body["involvedObject"]?["name"]);
        Assert.Equal("summary of duplicate_ip/10.4.0.9", (string?)body["message"]);
        Assert.Equal("duplicate_ip/10.4.0.9", (string?)body["metadata"]?["annotations"]?[FindingEventPublisher.FindingAnnotation]);

        time.Now = time.Now.AddMinutes(6);
        Assert.Equal("patched", await publisher.PublishAsync(f, default));
        var (patchPath, patch) = Assert.Single(api.Patches);
        Assert.Equal($"/api/v1/namespaces/shop/events/{(string?)body["metadata"]?["name"]}", patchPath);
        Assert.Equal(2, (int?)patch["count"]);
        Assert.Equal(1, MetricText.Value(registry, "flowwatch_kube_events_total", ("reason", "FlowWatchDuplicateIP"), ("result", "created")));
        Assert.Equal(2, MetricText.Value(registry, "flowwatch_kube_events_total", ("reason", "FlowWatchDuplicateIP"), ("result", "deduplicated")));
    }

    [Fact]
    public async Task TwoReplicas_OneFinding_OneEvent_WrittenOnlyByTheReplicaThatCreatedIt()
    {
        // Node shards of one cluster raise the same finding id when both see its evidence; the Event's name comes from the id.
        await using var api = await FakeApiServer.StartAsync();
        var (first, firstRegistry, firstTime) = Publisher(api);
        var (second, secondRegistry, secondTime) = Publisher(api);
        var f = Open("dns_drops/shop/cart", FindingKind.DnsDrops, new FindingSubject(Namespace: "shop", Pod: "cart-1"));

        Assert.Equal("created", await first.PublishAsync(f, default));
        Assert.Equal("deduplicated", await second.PublishAsync(f, default));
        firstTime.Now = secondTime.Now = firstTime.Now.AddMinutes(6);
        Assert.Equal("deduplicated", await second.PublishAsync(f, default));
        Assert.Equal("patched", await first.PublishAsync(f, default));

        Assert.Single(api.Posts.Select(p => (string?)p.Body["metadata"]?["name"]).Distinct());
        Assert.Single(api.Patches);
        Assert.Equal(1, MetricText.Value(firstRegistry, "flowwatch_kube_events_total", ("reason", "FlowWatchDnsDrops"), ("result", "created")));
        Assert.Null(MetricText.Value(secondRegistry, "flowwatch_kube_events_total", ("reason", "FlowWatchDnsDrops"), ("result", "created")));
        Assert.Null(MetricText.Value(secondRegistry, "flowwatch_kube_events_total", ("reason", "FlowWatchDnsDrops"), ("result", "failed")));
        Assert.Equal(2, MetricText.Value(secondRegistry, "flowwatch_kube_events_total", ("reason", "FlowWatchDnsDrops"), ("result", "deduplicated")));
    }

    [Fact]
    public async Task Event_NamesTheFindingsCluster_InAnAnnotation()
    {
        await using var api = await FakeApiServer.StartAsync();
        var (publisher, _, _) = Publisher(api);
        var f = Open("dns_drops/shop/cart", FindingKind.DnsDrops, new FindingSubject(Namespace: "shop", Pod: "cart-1")) with { Cluster = "prod-eu-1" };
        Assert.Equal("created", await publisher.PublishAsync(f, default));
        var (_, body) = Assert.Single(api.Posts);
        Assert.Equal("prod-eu-1", (string?)body["metadata"]?["annotations"]?[FindingEventPublisher.ClusterAnnotation]);
    }

    [Fact]
    public async Task Events_AreRateLimited_AndCounted()
    {
        await using var api = await FakeApiServer.StartAsync();
        var (publisher, registry, time) = Publisher(api, new FindingEventOptions { Burst = 2, PerMinute = 1 });
        for (var i = 0; i < 5; i++)
            await publisher.PublishAsync(Open($"asymmetric_path/p{i}", FindingKind.AsymmetricPath, new FindingSubject(Namespace: "shop", Pod: $"p{i}")), default);
        Assert.Equal(2, api.Posts.Count);
        Assert.Equal(3, MetricText.Value(registry, "flowwatch_kube_events_total", ("reason", "FlowWatchAsymmetricPath"), ("result", "rate_limited")));
        time.Now = time.Now.AddMinutes(1);
        await publisher.PublishAsync(Open("asymmetric_path/p9", FindingKind.AsymmetricPath, new FindingSubject(Namespace: "shop", Pod: "p9")), default);
        Assert.Equal(3, api.Posts.Count);
    }

    [Fact]
    public async Task Events_GoOnTheService_OrAPodOfTheWorkload_OrNowhere()
    {
        await using var api = await FakeApiServer.StartAsync();
        var view = new ClusterView(_ => { });
        view.Pods.Upsert(Pod("shop", "checkout-5d4f8c7b9-xyz12", "n1", "10.4.0.40", T0, owner: "checkout-5d4f8c7b9"));
        var (publisher, registry, _) = Publisher(api, view: view);

        await publisher.PublishAsync(Open("backend_unhealthy/shop/web", FindingKind.BackendUnhealthy, new FindingSubject(Namespace: "shop", Service: "web")), default);
        await publisher.PublishAsync(Open("dns_drops/shop/checkout", FindingKind.DnsDrops, new FindingSubject(Namespace: "shop", Workload: "checkout")), default);
        Assert.Equal("no_object", await publisher.PublishAsync(Open("dns_drops/x", FindingKind.DnsDrops, new FindingSubject(Workload: "ghost")), default));

        var objects = api.Posts.Select(p => $"{p.Body["reason"]}:{p.Body["involvedObject"]?["kind"]}/{p.Body["involvedObject"]?["name"]}").ToList();
        Assert.Equal(["FlowWatchBackendUnhealthy:Service/web", "FlowWatchDnsDrops:Pod/checkout-5d4f8c7b9-xyz12"], objects);
        Assert.Equal("uid-shop-checkout-5d4f8c7b9-xyz12", (string?)api.Posts.Last().Body["involvedObject"]?["uid"]);
    }
}
