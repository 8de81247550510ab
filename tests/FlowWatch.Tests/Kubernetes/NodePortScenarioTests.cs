using System.Text.Json;
using FlowWatch.Api;
using FlowWatch.Detectors;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Kubernetes;
using FlowWatch.Store;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using FlowWatch.Tests.Detectors.Handshakes;
using Side = FlowWatch.Tests.Detectors.Handshakes.TcpFlows.Side;
using static FlowWatch.Tests.Kube.KubeObjects;

namespace FlowWatch.Tests.Kube;

/// <summary>
/// A NodePort service with three backends end to end over the fake API server: the Service and its EndpointSlice
/// reach the backend-health detector through the real watcher and a pipeline running <see cref="DetectorSet"/>; IP-only
/// flows from outside clients are named from the watcher's view. One backend fails, one gets no traffic.
/// </summary>
public sealed class NodePortScenarioTests
{
    private const string Ns = "shop", Svc = "storefront";
    private const string PodA = "storefront-6b9f7c8d5-aaaaa", PodB = "storefront-6b9f7c8d5-bbbbb", PodC = "storefront-6b9f7c8d5-ccccc";
    private static readonly Side A = ClusterPipeline.PodAt("10.4.1.20", 8080);
    private static readonly Side B = ClusterPipeline.PodAt("10.4.2.21", 8080);
    private static readonly Side C = ClusterPipeline.PodAt("10.4.3.22", 8080);

    private static Side Outside(int i) => TcpFlows.Client($"203.0.113.{10 + i % 200}", (ushort)(40000 + i % 20000));

    /// <param name="namedTargetPort">The Service says <c>targetPort: http</c>; only its EndpointSlice has the number.</param>
    private static void Seed(FakeApiServer api, bool namedTargetPort)
    {
        foreach (var (pod, side, node) in new[] { (PodA, A, "n1"), (PodB, B, "n2"), (PodC, C, "n3") })
        {
            api.Nodes.Put(Node(node, $"192.168.0.{node[1..]}"));
            api.Pods.Put(Pod(Ns, pod, node, side.Ip.ToString(), T0.AddMinutes(-30), owner: "storefront-6b9f7c8d5"));
        }
        var service = NodePortService(Ns, Svc, 80, 30080, 8080);
        if (namedTargetPort) service.Spec.Ports[0].TargetPort = "http";
        api.Services.Put(service);
        var slice = Slice(Ns, Svc, "storefront-x1y2z",
            (PodA, A.Ip.ToString(), "n1", true), (PodB, B.Ip.ToString(), "n2", true), (PodC, C.Ip.ToString(), "n3", true));
        slice.Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }];
        api.EndpointSlices.Put(slice);
    }

    /// <summary>Each second for 40 s: a handshake to A that completes, and one to B that is refused, dropped, unanswered or (one in four) completes.</summary>
    private static void Traffic(ClusterPipeline p)
    {
        for (var i = 0; i < 40; i++)
        {
            p.Completed(i, Outside(2 * i), A);
            var client = Outside(2 * i + 1);
            switch (i % 4)
            {
                case 0: p.Completed(i + 0.5, client, B); break;
                case 1: p.Refused(i + 0.5, client, B); break;
                case 2: p.SynDropped(i + 0.5, client, B); break;
                default: p.Unanswered(i + 0.5, client, B); break;
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ThreeBackends_NamesTheFailingOne_ReadyButFailing_IdleShowsIdle_HealthyShowsHealthy(bool namedTargetPort)
    {
        await using var h = await KubeHarness.StartAsync(api => Seed(api, namedTargetPort));
        h.Run();
        await h.SyncedAsync();
        await Eventually.True(() => h.Events.Any(e => e is ServiceBackendsState { Service: Svc, Backends.Count: 3 }) &&
            new[] { A, B, C }.All(s => h.View.TryGetPodByIp(s.Ip, out _)), "the service, its three backends and their pods in the view");
        using var p = new ClusterPipeline(h);
        Assert.True(p.Drain() > 0);

        Traffic(p);
        p.AdvanceTo(52);   // past the handshake timeout of the last unanswered SYN (39.5 s + 10 s), all 40 s still inside the 1 min window

        var backends = p.Detector<IBackendInsight>().DescribeService(Ns, Svc);
        Assert.NotNull(backends);
        Assert.Equal([(PodA, "healthy"), (PodB, "unhealthy"), (PodC, "idle")], backends.Select(b => (b.Pod, b.State)));
        Assert.All(backends, b => Assert.Equal((8080, 30080, true), (b.TargetPort, b.NodePort, b.Ready)));
        Assert.Equal(["n1", "n2", "n3"], backends.Select(b => b.Node));   // from the EndpointSlice, not the flows' node
        var failing = backends[1].Handshakes;
        Assert.Equal((10, 10, 10, 10), (failing["completed"], failing["refused"], failing["dropped"], failing["timeout"]));
        Assert.Equal(40, backends[0].Handshakes["completed"]);
        Assert.All(backends[2].Handshakes.Values, n => Assert.Equal(0, n));
        Assert.Null(backends[2].LastSeen);
        Assert.Equal((1, 0, -1), (Health(p, PodA), Health(p, PodB), Health(p, PodC)));

        var findings = p.Findings.Where(f => f.Kind == FindingKind.BackendUnhealthy).ToList();
        Assert.NotEmpty(findings);
        Assert.All(findings, f => Assert.Equal((Ns, Svc, PodB), (f.Subject.Namespace, f.Subject.Service, f.Subject.Pod)));
        var last = findings[^1];
        Assert.Equal(FindingState.Open, last.State);
        Assert.Equal(Severity.Critical, last.Severity);
        Assert.Equal(1, last.Evidence["ready_but_failing"]);
        Assert.Equal(1, last.Evidence["healthy_siblings"]);
        Assert.Contains("node port 30080", last.Summary);
        Assert.Contains("Kubernetes reports the pod Ready", last.Summary);
        Assert.Contains($"({PodA})", last.Summary);
        Assert.DoesNotContain(PodC, last.Summary);
        Assert.Equal("storefront", last.Subject.Workload);

        // The query API says the same over HTTP.
        var http = await QueryApiOver(p);
        await using var served = http.Endpoint;
        using var client = http.Client;
        var raw = await client.GetStringAsync($"/api/v1/services/{Ns}/{Svc}/backends");
        var answer = JsonSerializer.Deserialize<BackendsResponse>(raw, ApiJson.Options)!;
        Assert.Equal([(PodA, "healthy", true), (PodB, "unhealthy", true), (PodC, "idle", true)],
            answer.Backends.Select(x => (x.Pod, x.State, x.Ready == true)));
    }

    [Fact]
    public async Task ClusterIpServices_DoNotCrowdOut_TheBackendsOfANodePortService()
    {
        // Slices first (as a relist may deliver them), for more ClusterIP services than the detector tracks; the NodePort Service after.
        await using var h = await KubeHarness.StartAsync(api =>
        {
            foreach (var name in new[] { "db", "cache", "queue" })
            {
                api.Services.Put(new V1Service { ApiVersion = "v1", Kind = "Service", Metadata = new V1ObjectMeta { NamespaceProperty = Ns, Name = name },
                    Spec = new V1ServiceSpec { Type = "ClusterIP", Ports = [new V1ServicePort { Port = 5432, TargetPort = 5432 }] } });
                api.EndpointSlices.Put(Slice(Ns, name, name + "-abcde", (name + "-0", "10.4.9." + name.Length, "n1", true)));
            }
            Seed(api, namedTargetPort: false);
            api.Services.Delete(Ns, Svc);
        });
        h.Run();
        await h.SyncedAsync();
        h.Api.Services.Put(NodePortService(Ns, Svc, 80, 30080, 8080));
        await Eventually.True(() => h.Events.Any(e => e is ServiceState { Name: Svc }), "the NodePort service from the watch");
        using var p = new ClusterPipeline(h, new DetectorSettings { Backends = new() { MaxServices = 2 } });
        p.Drain();

        var backends = p.Detector<IBackendInsight>().DescribeService(Ns, Svc);
        Assert.Equal([PodA, PodB, PodC], backends?.Select(b => b.Pod));
    }

    private static double Health(ClusterPipeline p, string pod) =>
        p.Metric("flowwatch_backend_health", ("namespace", Ns), ("service", Svc), ("pod", pod));

    private static async Task<(HttpEndpoint Endpoint, HttpClient Client)> QueryApiOver(ClusterPipeline p)
    {
        var storeMetrics = Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry());
        var context = new QueryApiContext(new FlowStore(new FlowStoreOptions { MaxFlows = 4096 }, storeMetrics), p.Pipeline.Book,
            p.Pipeline.Detectors, TimeProvider.System);
        var endpoint = await HttpEndpoint.StartAsync("127.0.0.1:0", p.Registry, [], app => QueryApi.Map(app, context),
            NullLoggerFactory.Instance, CancellationToken.None);
        return (endpoint, new HttpClient { BaseAddress = endpoint.Address });
    }
}
