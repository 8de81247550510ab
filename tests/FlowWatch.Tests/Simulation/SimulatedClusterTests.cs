using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using FlowWatch.Simulation;

namespace FlowWatch.Tests.Simulation;

public sealed class SimulatedClusterTests
{
    private static readonly DateTimeOffset Now = SimFlows.Start;

    [Fact]
    public void SameSeedAndSize_GiveTheSameCluster_AnotherSeedAnother()
    {
        static string Shape(SimulatedCluster c) => string.Join("\n", c.Pods.Select(p => $"{p} {p.Node.Name} {p.Ip} {p.Workload.Identity} {p.EndpointId}"));
        Assert.Equal(Shape(new SimulatedCluster(3, 6)), Shape(new SimulatedCluster(3, 6)));
        Assert.NotEqual(Shape(new SimulatedCluster(3, 6)), Shape(new SimulatedCluster(4, 6)));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(40)]
    public void ManagedPods_HaveUniqueIpsInsideTheirNodesCidr(int nodes)
    {
        var cluster = new SimulatedCluster(11, nodes);
        Assert.Equal(nodes, cluster.Nodes.Count);
        Assert.Equal(cluster.Pods.Count, cluster.Pods.Select(p => p.Ip).Distinct().Count());
        Assert.All(cluster.Pods, p => Assert.True(p.Node.PodCidr.Contains(p.Ip), $"{p} {p.Ip} outside {p.Node.PodCidr}"));
        Assert.All(cluster.Pods, p => Assert.True(SimulatedCluster.PodRange.Contains(p.Ip)));
        Assert.All(cluster.Nodes, n => Assert.True(SimulatedCluster.InVpcRange.Contains(n.Ip)));
        Assert.Equal(cluster.Pods.Count, cluster.Pods.Select(p => p.Name).Distinct().Count());
        Assert.Equal(cluster.Workloads.Count, cluster.Workloads.Select(w => w.Identity).Distinct().Count());
        Assert.True(cluster.Pods.Count > nodes, "pods scale with the cluster");
    }

    [Fact]
    public void ScenarioFixtures_AreWhereTheContractPutsThem()
    {
        var c = new SimulatedCluster(1, 5);
        Assert.Equal("sim-node-3", c.DuplicateIpPod.Node.Name);
        Assert.Equal(IpAddr.Parse("10.1.3.77"), c.DuplicateIpPod.Ip);
        Assert.Equal("inventory", c.DuplicateIpPod.Workload.Name);
        Assert.StartsWith("legacy-batch-", c.UnmanagedPod.Name);
        Assert.Equal(c.DuplicateIpPod.Ip, c.UnmanagedPod.Ip);
        Assert.False(c.UnmanagedPod.Managed);
        Assert.DoesNotContain(c.UnmanagedPod, c.Pods);
        Assert.Equal("payments", c.AsymmetricPod.Namespace);
        Assert.False(c.AsymmetricPod.OnPrimaryEni);
        Assert.True(c.HealthyLedgerPod.OnPrimaryEni);
        Assert.Equal(3, c.StorefrontBackends.Select(p => p.Name).Distinct().Count());
        Assert.Same(c.StorefrontBackends[1], c.FailingBackend);
        Assert.Matches("^storefront-[a-z0-9]{10}-[a-z0-9]{5}$", c.FailingBackend.Name);
        Assert.All(c.StorefrontBackends, p => Assert.Equal("storefront", FlowWatch.Flows.Workloads.FromPodName(p.Name)));
        Assert.All(c.CoreDns.Pods, p => Assert.Matches("^coredns-[a-z0-9]{10}-[a-z0-9]{5}$", p.Name));
        Assert.Equal(SimulatedCluster.KubeDnsIdentity, c.CoreDns.Identity);
        Assert.Contains("k8s:k8s-app=kube-dns", c.CoreDns.Labels);
        Assert.Equal("kube-dns.kube-system.svc.cluster.local.", c.CoreDns.ServiceFqdn);
        Assert.Equal(new[] { "kube-system", "payments", "shop", "web" }, c.Workloads.Select(w => w.Namespace).Distinct().Order());
    }

    [Fact]
    public void ClusterView_WithDuplicateIp_ShowsTwoRunningPodsOnOneIp_OneEndpoint_AgentReadyAfterTheUnmanagedStart()
    {
        var c = new SimulatedCluster(1, 5);
        var view = c.ClusterView(ScenarioSet.Parse("duplicate-ip"), Now);
        var onIp = view.OfType<PodState>().Where(p => p.Ip == SimulatedCluster.DuplicateIp).ToList();
        Assert.Equal(2, onIp.Count);
        Assert.All(onIp, p => Assert.True(p.Running && p.Node == "sim-node-3"));
        var endpoints = view.OfType<CiliumEndpointState>().Where(e => e.Ip == SimulatedCluster.DuplicateIp).ToList();
        Assert.Equal(c.DuplicateIpPod.Name, Assert.Single(endpoints).Name);
        var agent = view.OfType<CiliumAgentState>().Single(a => a.Node == "sim-node-3");
        var legacy = onIp.Single(p => p.Name == c.UnmanagedPod.Name);
        var inventory = onIp.Single(p => p.Name == c.DuplicateIpPod.Name);
        Assert.True(legacy.StartTime < agent.ReadySince, "legacy-batch started before the agent");
        Assert.True(inventory.StartTime > agent.ReadySince, "inventory started after the agent");
        // Every other pod on the young node started after its agent, so only legacy-batch is suspect.
        Assert.All(view.OfType<PodState>().Where(p => p.Node == "sim-node-3" && p.Name != legacy.Name),
            p => Assert.True(p.StartTime > agent.ReadySince, p.Name));
    }

    [Fact]
    public void ClusterView_WithoutDuplicateIp_HasNoSharedIp_AndAnEndpointForEveryPod()
    {
        var view = new SimulatedCluster(1, 5).ClusterView(ScenarioSet.Parse("dns-drops,asymmetric,nodeport-backend"), Now);
        var pods = view.OfType<PodState>().ToList();
        Assert.Equal(pods.Count, pods.Select(p => p.Ip).Distinct().Count());
        Assert.Equal(pods.Select(p => p.Ip).Order(), view.OfType<CiliumEndpointState>().Select(e => e.Ip).Order());
    }

    [Fact]
    public void ClusterView_HasTheNodePortServiceAndItsBackends_AndTheSecondaryEni()
    {
        var c = new SimulatedCluster(1, 5);
        var view = c.ClusterView(ScenarioSet.None, Now);
        var svc = Assert.Single(view.OfType<ServiceState>());
        Assert.Equal(("web", "storefront", "NodePort"), (svc.Namespace, svc.Name, svc.Type));
        var port = Assert.Single(svc.Ports);
        Assert.Equal((80, 30080, 8080), (port.Port, port.NodePort, port.TargetPort));
        var backends = Assert.Single(view.OfType<ServiceBackendsState>());
        Assert.Equal(c.StorefrontBackends.Select(p => p.Name), backends.Backends.Select(b => b.Pod));
        var secondary = Assert.Single(view.OfType<EniAddressState>(), e => !e.Primary);
        Assert.Equal((c.AsymmetricPod.Ip, "eth1"), (secondary.Ip, secondary.Interface));
        Assert.Equal(c.Nodes.Count, view.OfType<CiliumAgentState>().Count());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(201)]
    public void TooFewOrTooManyNodes_AreRefusedWithAReason(int nodes)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new SimulatedCluster(1, nodes));
        Assert.Contains("nodes", e.Message);
    }
}
