using FlowWatch.Simulation;
using FlowWatch.Tests.Hubble.Conformance;

namespace FlowWatch.Tests.Clusters;

/// <summary><c>flowwatch watch</c> without <c>--cluster</c>: the name comes from the cluster_name on Hubble's flows, is
/// said on the first lines, and labels every metric; <c>--cluster</c> still wins.</summary>
public sealed class WatchClusterDefaultTests
{
    [Fact]
    public async Task WithoutClusterFlag_TheClusterNameOnHubblesFlows_LabelsEveryMetric_AndTheFlagWins()
    {
        await using var sim = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 500, Scenarios = ScenarioSet.None });
        await sim.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (sim.Ring.Next - sim.Ring.Oldest < 100)
        {
            Assert.True(DateTime.UtcNow < deadline, "the simulator's ring did not fill within 60 s");
            await Task.Delay(50);
        }
        var hubble = $"127.0.0.1:{sim.EndPoint!.Port}";
        foreach (var (flags, expected) in new[] { (Array.Empty<string>(), SimulatedCluster.ClusterName), (["--cluster", "prod-eu"], "prod-eu") })
        {
            await using var watch = await CliServer.StartAsync(TimeSpan.FromSeconds(90),
                ["watch", "--hubble", hubble, "--listen", "127.0.0.1:0", "--view", "lines", .. flags]);
            await watch.WaitForLineAsync(l => l.Contains($"as cluster {expected};", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            var origin = watch.Log.Split('\n').Any(l => l.Contains($"cluster name '{expected}' from the cluster_name on the endpoints of", StringComparison.Ordinal));
            Assert.True(origin == (flags.Length == 0), watch.Log);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            var metrics = await http.GetStringAsync(new Uri(new Uri(watch.Address), "/metrics"));
            var series = metrics.Split('\n').Where(l => l.StartsWith("flowwatch_", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(series);
            Assert.All(series, l => Assert.Contains($"cluster=\"{expected}\"", l));
        }
    }
}
