using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Hubble;
using FlowWatch.Simulation;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Tests.Streaming;

/// <summary>The demo's path end to end: simulator over real gRPC on 127.0.0.1, the follower, the pipeline, the detectors.</summary>
public sealed class StreamFromSimulatorTests
{
    [Fact]
    public async Task FollowsTheSimulator_AndRaisesTheDnsAndDuplicateIpFindings()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await using var sim = new SimulatorHost(new SimulatorOptions
        {
            Listen = "127.0.0.1:0",
            FlowsPerSecond = 2000,
            Scenarios = ScenarioSet.Parse("dns-drops,duplicate-ip"),
        });
        await sim.StartAsync(timeout.Token);
        await using var runtime = new FlowWatchRuntime(new RuntimeOptions { Listen = "127.0.0.1:0" }, NullLoggerFactory.Instance);
        foreach (var change in sim.ClusterView()) runtime.Intake.Write(change);
        var source = new HubbleStreamSource(sim.Address.ToString(), f => runtime.Intake.Write(f), runtime.Pipeline.Metrics);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var pump = runtime.RunAsync(live: true, stop.Token);
        var stream = source.RunAsync(stop.Token);

        var wanted = new[] { FindingKind.DnsDrops, FindingKind.DuplicateIp };
        while (!wanted.All(k => runtime.Pipeline.Book.OpenFindings.Any(f => f.Kind == k)))
        {
            Assert.False(timeout.IsCancellationRequested, "findings did not open within 90 s; open: " +
                string.Join(", ", runtime.Pipeline.Book.OpenFindings.Select(f => f.Id)));
            await Task.Delay(100);
        }
        stop.Cancel();
        await stream;
        await pump;

        
        Assert.True(runtime.Pipeline.Stats.Flows > 1000);
        Assert.True(runtime.Pipeline.Stats.ByVerdict(Verdict.Dropped) > 0);
        var kinds = runtime.Pipeline.Book.OpenFindings.Select(f => f.Kind).Distinct().ToList();
        Assert.DoesNotContain(FindingKind.AsymmetricPath, kinds);
        Assert.DoesNotContain(FindingKind.BackendUnhealthy, kinds);
    }
}
