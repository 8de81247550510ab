using FlowWatch.Detectors.Backends;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using static FlowWatch.Tests.Detectors.Handshakes.HandshakeHarness;
using static FlowWatch.Tests.Detectors.Handshakes.TcpFlows;

namespace FlowWatch.Tests.Detectors.Handshakes;

/// <summary>Per-backend health behind a NodePort service, from the flows that reach each backend, in event time.</summary>
public sealed class BackendHealthDetectorTests
{
    private static readonly Side A = Server(Pod("web", "storefront", "a"), "10.1.1.20", 8080);
    private static readonly Side B = Server(Pod("web", "storefront", "b"), "10.1.2.21", 8080);
    private static readonly Side C = Server(Pod("web", "storefront", "c"), "10.1.3.22", 8080);
    private static readonly ServiceRef Storefront = new("web", "storefront");
    private const string IdB = "backend_unhealthy/web/storefront/storefront-6b9f7c-b";

    private static Side Outside(int i) => Client($"10.0.50.{10 + i % 200}", (ushort)(40000 + i % 20000));

    private static void ClusterState(HandshakeHarness h, bool bReady = true)
    {
        h.Apply(new ServiceState("web", "storefront", "NodePort", [new ServicePortState("http", "TCP", 80, 30080, 8080)]));
        h.Apply(new ServiceBackendsState("web", "storefront",
        [
            new BackendState(A.Endpoint.Pod, A.Ip, "node-1", Ready: true),
            new BackendState(B.Endpoint.Pod, B.Ip, "node-2", Ready: bReady),
            new BackendState(C.Endpoint.Pod, C.Ip, "node-3", Ready: true),
        ]));
    }

    private static double Health(HandshakeHarness h, Side pod) =>
        h.Metric("flowwatch_backend_health", ("namespace", "web"), ("service", "storefront"), ("pod", pod.Endpoint.Pod));

    private static double Handshakes(HandshakeHarness h, Side pod, string outcome) =>
        h.Metric("flowwatch_backend_handshakes_total", ("namespace", "web"), ("service", "storefront"), ("pod", pod.Endpoint.Pod), ("outcome", outcome));

    /// <summary>Outside clients alternate between a (completes, 200) and b (refused, or 503), for the given seconds; c gets nothing.</summary>
    private static void Traffic(HandshakeHarness h, double from, double to, bool bFails)
    {
        var i = 0;
        for (var t = from; t < to; t += 1, i++)
        {
            h.Completed(t, Outside(i), A);
            h.Push(HttpResponse(At(t + 0.01), Outside(i), A, 200, 3_000_000));
            if (bFails && i % 4 != 0) h.Refused(t + 0.5, Outside(i + 1), B);
            else
            {
                h.Completed(t + 0.5, Outside(i + 1), B);
                h.Push(HttpResponse(At(t + 0.51), Outside(i + 1), B, bFails ? 503 : 200, 2_000_000));
            }
        }
    }

    [Fact]
    public void NodePortWithThreeBackends_NamesTheFailingOne_IdleShowsIdle_SiblingHealthy()
    {
        using var h = new HandshakeHarness();
        ClusterState(h);
        Traffic(h, 0, 40, bFails: true);
        h.AdvanceTo(45);

        var f = h.Latest(IdB);
        Assert.NotNull(f);
        Assert.Equal(FindingKind.BackendUnhealthy, f.Kind);
        Assert.Equal(("web", "storefront", "storefront-6b9f7c-b"), (f.Subject.Namespace, f.Subject.Service, f.Subject.Pod));
        Assert.Contains("node port 30080", f.Summary);
        Assert.Contains("storefront-6b9f7c-a", f.Summary);
        Assert.Equal(1, f.Evidence["ready_but_failing"]);
        Assert.Contains("readiness probe does not see this", f.Summary);
        Assert.DoesNotContain(h.Findings, x => x.Subject.Pod != "storefront-6b9f7c-b");

        Assert.Equal((1, 0, -1), (Health(h, A), Health(h, B), Health(h, C)));
        var backends = h.Backends.DescribeService("web", "storefront")!;
        Assert.Equal(["healthy", "unhealthy", "idle"], backends.Select(b => b.State));
        Assert.Equal(30080, backends[1].NodePort);
        Assert.True(backends[1].Handshakes["refused"] >= 20);
        Assert.True(backends[1].HttpClasses["5xx"] >= 5);
        Assert.NotNull(backends[0].LatencyP50Ms);
        Assert.True(Handshakes(h, B, "refused") >= 20);
        Assert.Equal(40, Handshakes(h, A, "completed"));
    }

    [Fact]
    public void BackendNamedByClusterState_TakesItsWorkloadFromTheFlows_AndEachShareMatchesTheCountsBesideIt()
    {
        using var h = new HandshakeHarness();
        // The EndpointSlice names only pods; "storefront-6b9f7c-b" has no generated 5-character suffix, so the name
        // alone does not give the workload. The flows do (Cilium's workloads field, or the enricher's owner references).
        ClusterState(h);
        Assert.Equal("storefront-6b9f7c-b", Workloads.FromPodName(B.Endpoint.Pod));
        Traffic(h, 0, 40, bFails: true);

        var f = h.Latest(IdB)!;
        Assert.Equal(("storefront", "storefront-6b9f7c-b"), (f.Subject.Workload, f.Subject.Pod));
        long handshakes = f.Evidence["handshakes"], refused = f.Evidence["refused"], http = f.Evidence["http_responses"], http5xx = f.Evidence["http_5xx"];
        Assert.True(refused > 0 && refused < handshakes && http5xx == http, $"premise: some handshakes refused, every HTTP answer 5xx ({string.Join(", ", f.Evidence)})");
        long Pct(long n, long of) => (long)Math.Round(100.0 * n / of);
        Assert.Equal(Pct(refused, handshakes), f.Evidence["handshake_failure_pct"]);
        Assert.Equal(100, f.Evidence["http_5xx_pct"]);
        Assert.Contains($"{refused} of {handshakes} handshakes refused (RST) ({Pct(refused, handshakes)}%)", f.Summary);
        Assert.Contains($"{http5xx} of {http} HTTP responses 5xx (100%)", f.Summary);
    }

    [Fact]
    public void NotReadyBackend_IsNotFlaggedReadyWhileFailing()
    {
        using var h = new HandshakeHarness();
        ClusterState(h, bReady: false);
        Traffic(h, 0, 40, bFails: true);
        var f = h.Latest(IdB)!;
        Assert.Equal(0, f.Evidence["ready_but_failing"]);
        Assert.Contains("not Ready", f.Summary);
    }

    [Fact]
    public void Resolves_AfterTheBackendRecovers_AndItsHealthGoesBackToOne()
    {
        var options = new BackendHealthOptions { QuietPeriod = TimeSpan.FromSeconds(60) };
        using var h = new HandshakeHarness(backends: options);
        ClusterState(h);
        Traffic(h, 0, 40, bFails: true);
        Assert.Equal(FindingState.Open, h.Latest(IdB)!.State);
        Traffic(h, 40, 400, bFails: false);
        h.AdvanceTo(405);
        Assert.Equal(FindingState.Resolved, h.Latest(IdB)!.State);
        Assert.Equal(1, Health(h, B));
        // Traffic stops: every backend turns idle once its window is empty.
        h.AdvanceTo(700);
        Assert.Equal((-1, -1, -1), (Health(h, A), Health(h, B), Health(h, C)));
    }

    [Fact]
    public void AFewFailures_BelowTheMinimumSamples_AreDegradedAtWorst()
    {
        using var h = new HandshakeHarness();
        ClusterState(h);
        for (var i = 0; i < 5; i++) h.Refused(i, Outside(i), B);
        h.AdvanceTo(15);
        Assert.Empty(h.Findings);
        Assert.Equal(0.5, Health(h, B));
    }

    [Fact]
    public void WithoutClusterState_BackendsComeFromOutsideFlowsNamingTheService()
    {
        using var h = new HandshakeHarness();
        var i = 0;
        for (var t = 0.0; t < 40; t += 1, i++)
        {
            h.Completed(t, Outside(i), A, Storefront);
            h.Refused(t + 0.5, Outside(i + 1), B, Storefront);
        }
        h.AdvanceTo(45);
        var f = h.Latest(IdB);
        Assert.NotNull(f);
        Assert.Equal([("web", "storefront")], h.Backends.Services);
        Assert.Equal((1, 0), (Health(h, A), Health(h, B)));
    }

    [Fact]
    public void PodToPodTraffic_ToAClusterIpService_IsNotTrackedAsABackend()
    {
        using var h = new HandshakeHarness();
        var client = new Side(Pod("web", "frontend", "f1"), IpAddr.Parse("10.1.1.50"), 40000);
        for (var t = 0; t < 40; t++) h.Refused(t, client with { Port = (ushort)(40000 + t) }, B, Storefront);
        h.AdvanceTo(45);
        Assert.Empty(h.Backends.Services);
        Assert.Empty(h.Findings);
    }

    [Fact]
    public void HttpFiveHundreds_MakeABackendUnhealthy_EvenWhenHandshakesComplete()
    {
        using var h = new HandshakeHarness();
        ClusterState(h);
        for (var t = 0; t < 30; t++)
        {
            h.Completed(t, Outside(t), C);
            h.Push(HttpResponse(At(t + 0.01), Outside(t), C, 503, 1_000_000));
        }
        var f = h.Latest("backend_unhealthy/web/storefront/storefront-6b9f7c-c");
        Assert.NotNull(f);
        Assert.Equal(30, f.Evidence["http_5xx"]);
    }
}
