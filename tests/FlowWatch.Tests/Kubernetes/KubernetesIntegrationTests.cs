using FlowWatch.Detectors.DuplicateIp;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Kubernetes;
using FlowWatch.Remediation;
using Microsoft.Extensions.Logging.Abstractions;
using static FlowWatch.Tests.Kube.KubeObjects;

namespace FlowWatch.Tests.Kube;

/// <summary>The wiring the watch command uses: a kubeconfig file, the runtime's intake and readiness, flow enrichment.</summary>
public sealed class KubernetesIntegrationTests
{
    [Fact]
    public async Task Kubeconfig_FeedsTheRuntime_EnrichesIpOnlyFlows_AndReportsReadiness()
    {
        await using var api = await FakeApiServer.StartAsync();
        api.Pods.Put(Pod("shop", "api-6d5f7c8b9-bbbbb", "n1", "10.4.0.9", T0, owner: "api-6d5f7c8b9"));
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"flowwatch-kubeconfig-{Guid.NewGuid():N}.yaml");
        await api.WriteKubeconfigAsync(kubeconfig);
        try
        {
            await using var runtime = new FlowWatchRuntime(new RuntimeOptions { Listen = "127.0.0.1:0" }, NullLoggerFactory.Instance);
            var settings = new KubernetesSettings { Kubeconfig = kubeconfig, Context = "fake", Watch = KubeHarness.Fast, Remediation = new() { Mode = RemediationMode.DryRun } };
            using var kube = KubernetesIntegration.TryCreate(settings, runtime, NullLoggerFactory.Instance);
            Assert.NotNull(kube);
            Assert.NotNull(kube.Remediator);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var pump = runtime.RunAsync(live: true, cts.Token);
            var run = kube.RunAsync(cts.Token);

            var detector = runtime.Detectors.OfType<DuplicateIpDetector>().Single();
            await Eventually.True(() => detector.View.Knows(new PodKey("shop", "api-6d5f7c8b9-bbbbb")), "the pod reached the detector through the intake");
            await Eventually.True(() => kube.Watcher.Synced, "every watcher listed");
            Assert.All(runtime.Readiness, check => Assert.Null(check()));

            var flow = new FlowRecord { SourceIp = IpAddr.Parse("10.4.0.9"), DestinationIp = IpAddr.Parse("10.9.9.9"), Source = new FlowEndpoint(0, "", "", "", "") };
            var enriched = kube.Enrich(flow);
            Assert.Equal(("shop", "api-6d5f7c8b9-bbbbb", "api"), (enriched.Source.Namespace, enriched.Source.Pod, enriched.Source.Workload));
            Assert.False(enriched.Destination.IsPod);

            cts.Cancel();
            await run;
            runtime.Intake.Complete();
            await pump;
        }
        finally { File.Delete(kubeconfig); }
    }

    [Fact]
    public void NoKubeconfig_OutsideACluster_MeansFlowsOnly_ButRemediationRefusesToStart()
    {
        Assert.False(k8s.KubernetesClientConfiguration.IsInCluster(), "this test's premise is a process outside any Kubernetes pod");
        var runtime = new FlowWatchRuntime(new RuntimeOptions { Listen = "127.0.0.1:0" }, NullLoggerFactory.Instance);
        Assert.Null(KubernetesIntegration.TryCreate(new KubernetesSettings(), runtime, NullLoggerFactory.Instance));
        Assert.Throws<InvalidOperationException>(() => KubernetesIntegration.TryCreate(
            new KubernetesSettings { Remediation = new() { Mode = RemediationMode.Evict } }, runtime, NullLoggerFactory.Instance));
    }
}
