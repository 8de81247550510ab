using System.Net;
using System.Net.Sockets;
using FlowWatch.Findings;
using FlowWatch.Hubble;
using FlowWatch.Simulation;

namespace FlowWatch.Tests.Clusters;

/// <summary>watch's default --cluster: the cluster_name on the endpoints of Hubble's recent flows, else "default" with the reason.</summary>
public sealed class ClusterDiscoveryTests
{
    private static HubbleSourceSpec Source(string name, string target) =>
        new(name, target, new HubbleClientOptions { StatusPollInterval = TimeSpan.Zero });

    [Fact]
    public async Task FromHubble_TheClusterNameItsFlowsCarry()
    {
        await using var sim = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 1000, Scenarios = ScenarioSet.None });
        await sim.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (sim.Ring.Next - sim.Ring.Oldest < ClusterDiscovery.Flows)
        {
            Assert.True(DateTime.UtcNow < deadline, "the simulator's ring did not fill within 60 s");
            await Task.Delay(50);
        }
        // The first source is down: the next one answers.
        var found = await ClusterDiscovery.DiscoverAsync(
            [Source("down", $"127.0.0.1:{ClosedPort()}"), Source("sim", sim.Address.Authority)], TimeSpan.FromSeconds(30), default);
        Assert.Equal(SimulatedCluster.ClusterName, found.Name);
        Assert.Contains("sim's", found.Why);
    }

    [Fact]
    public async Task HubbleDown_FallsBackToDefault_AndSaysWhy()
    {
        var found = await ClusterDiscovery.DiscoverAsync([Source("relay", $"127.0.0.1:{ClosedPort()}")], TimeSpan.FromSeconds(30), default);
        Assert.Equal(ClusterName.Default, found.Name);
        Assert.StartsWith("Hubble did not say (relay: ", found.Why);
    }

    private static int ClosedPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
