using FlowWatch.Detectors.Asymmetric;
using FlowWatch.Detectors.Backends;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using static FlowWatch.Tests.Detectors.Handshakes.HandshakeHarness;
using static FlowWatch.Tests.Detectors.Handshakes.TcpFlows;

namespace FlowWatch.Tests.Detectors.Handshakes;

/// <summary>Handshake, peer-range and backend tables stay at their bounds under churn, count what they shed, and empty when quiet.</summary>
public sealed class HandshakeBoundsTests
{
    private const int Pods = 6_000;

    private static Side ChurningPod(int i) =>
        Server(Pod("batch", $"job{i % 50}", $"p{i}"), $"10.{2 + i / 60_000}.{i / 250 % 240}.{1 + i % 250}", 8080);

    [Fact]
    public void ManyThousandsOfChurningPodsAndConnections_KeepEveryTableAtItsBound_AndCountEvictions()
    {
        using var h = new HandshakeHarness(
            new AsymmetricPathOptions { MaxGroups = 300 },
            new BackendHealthOptions { MaxBackends = 200, LearnedBackendExpiry = TimeSpan.FromMinutes(2) },
            new HandshakeClassifierOptions { Capacity = 2_000 });
        var service = new ServiceRef("batch", "jobs");
        int maxTable = 0, maxGroups = 0, maxBackends = 0;
        for (var i = 0; i < Pods; i++)
        {
            // Each pod lives for one short burst: three clients complete, then a client whose SYN is never answered.
            var pod = ChurningPod(i);
            var t = i * 0.05;
            for (var k = 0; k < 3; k++) h.Completed(t + k * 0.01, Client($"192.168.{i % 250}.{1 + k}", (ushort)(30000 + i % 30000)), pod, service);
            h.Push(FromClient(At(t + 0.04), Client($"172.16.{i % 250}.9", (ushort)(20000 + i % 30000)), pod, Syn));
            maxTable = Math.Max(maxTable, h.Classifier.TableCount);
            maxGroups = Math.Max(maxGroups, h.Asymmetric.GroupCount);
            maxBackends = Math.Max(maxBackends, h.Backends.BackendCount);
        }
        Assert.Equal(Pods * 4, h.Handshakes.Count + h.Classifier.OpenCount + (int)h.Classifier.EvictedOpen);
        Assert.InRange(maxTable, 1_000, 2_000);
        Assert.Equal(300, maxGroups);
        Assert.Equal(200, maxBackends);
        Assert.True(h.Classifier.EvictedClosed > 0);
        Assert.True(h.Asymmetric.GroupsEvicted > 0);
        Assert.True(h.Backends.BackendsEvicted > 0);
        Assert.True(h.Metric("flowwatch_tcp_handshake_evictions_total", ("reason", "closed")) > 0);
        Assert.True(h.Metric("flowwatch_asymmetric_group_evictions_total") > 0);
        Assert.True(h.Metric("flowwatch_backend_evictions_total", ("reason", "bound")) > 0);

        // Quiet keys expire: nothing is left once every pod has been gone long enough.
        h.AdvanceTo(Pods * 0.05 + 900);
        Assert.Equal(0, h.Classifier.TableCount);
        Assert.Equal(0, h.Asymmetric.GroupCount);
        Assert.Equal(0, h.Backends.BackendCount);
        Assert.Empty(h.Backends.Services);
        Assert.Empty(h.Pipeline.Book.OpenFindings);
    }

    [Fact]
    public void AtTheBackendBound_FlowLearnedBackendsGoFirst_ThoseClusterStateNamesStay()
    {
        using var h = new HandshakeHarness(backends: new BackendHealthOptions { MaxBackends = 20 });
        var known = new[] { ChurningPod(100_001), ChurningPod(100_002) };
        h.Apply(new ServiceState("batch", "jobs", "NodePort", [new ServicePortState("http", "TCP", 80, 30900, 8080)]));
        h.Apply(new ServiceBackendsState("batch", "jobs", known.Select(k => new BackendState(k.Endpoint.Pod, k.Ip, "node-1", true)).ToArray()));
        var service = new ServiceRef("batch", "jobs");
        for (var i = 0; i < 2_000; i++)
            h.Completed(i * 0.1, Client($"192.168.{i % 250}.1", (ushort)(30000 + i)), ChurningPod(i), service);
        Assert.Equal(20, h.Backends.BackendCount);
        Assert.Equal(2_000 - 18, h.Backends.BackendsEvicted);
        var names = h.Backends.DescribeService("batch", "jobs")!.Select(b => b.Pod).ToList();
        Assert.All(known, k => Assert.Contains(k.Endpoint.Pod, names));
    }
}
