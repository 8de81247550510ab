using System.Net;
using FlowWatch.Cli.Commands;
using FlowWatch.Hosting;
using FlowWatch.Hubble;
using FlowWatch.Simulation;

namespace FlowWatch.Tests.Reliability;

/// <summary>Pump health is visible: /readyz is not ready while Hubble reports heavy lost events, and gauges of a live
/// stream read NaN once the stream is gone instead of keeping their last values.</summary>
public sealed class IngestHealthTests
{
    private static async Task<(Task<int> Run, CancellationTokenSource Stop, Func<FlowWatchRuntime?> Runtime)> Watch(SimulatorHost sim)
    {
        FlowWatchRuntime? runtime = null;
        var stop = new CancellationTokenSource();
        var run = WatchCommand.RunWatcherAsync(sim.Address.ToString().TrimEnd('/'), "127.0.0.1:0", TimeSpan.FromSeconds(5), sim.ClusterView(), stop.Token,
            new HubbleClientOptions { StatusPollInterval = TimeSpan.FromMilliseconds(300) }, new WatcherSettings { Started = r => runtime = r });
        await Until(() => runtime?.HttpAddress is not null, "the watcher serves HTTP");
        return (run, stop, () => runtime);
    }

    private static async Task Until(Func<bool> condition, string what, double seconds = 45)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"within {seconds} s: {what}");
            await Task.Delay(50);
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what, double seconds = 45)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"within {seconds} s: {what}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task HeavyLostEvents_MakeReadyzNotReady_AndSetIngestBehind()
    {
        await using var sim = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 500, LostEventsPerSecond = 50 });
        await sim.StartAsync();
        var (run, stop, runtime) = await Watch(sim);
        using var http = new HttpClient { BaseAddress = runtime()!.HttpAddress, Timeout = TimeSpan.FromSeconds(10) };
        string last = "";
        await UntilAsync(async () =>
        {
            using var ready = await http.GetAsync("/readyz");
            last = await ready.Content.ReadAsStringAsync();
            return ready.StatusCode == HttpStatusCode.ServiceUnavailable && last.Contains("Hubble loses", StringComparison.Ordinal);
        }, "/readyz says Hubble loses events");
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Equal(1, MetricScrape.First(metrics, "flowwatch_ingest_behind"));
        Assert.True(MetricScrape.First(metrics, "flowwatch_hubble_lost_events_per_second") > 100);
        stop.Cancel();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task WhenTheStreamDies_LagAndHubbleRate_ReadNaN_NotTheirLastValues()
    {
        var sim = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 500 });
        await sim.StartAsync();
        var (run, stop, runtime) = await Watch(sim);
        using var http = new HttpClient { BaseAddress = runtime()!.HttpAddress, Timeout = TimeSpan.FromSeconds(10) };
        double? Lag(string m) => MetricScrape.First(m, "flowwatch_event_time_lag_seconds");
        double? Rate(string m) => MetricScrape.First(m, "flowwatch_hubble_seen_flows_rate");
        await UntilAsync(async () =>
        {
            var m = await http.GetStringAsync("/metrics");
            return Lag(m) is { } lag && !double.IsNaN(lag) && Rate(m) is { } rate && !double.IsNaN(rate);
        }, "lag and Hubble's rate are published while the stream is live");
        await sim.DisposeAsync();
        await UntilAsync(async () =>
        {
            var m = await http.GetStringAsync("/metrics");
            return Lag(m) is { } lag && double.IsNaN(lag) && Rate(m) is { } rate && double.IsNaN(rate);
        }, "lag and Hubble's rate read NaN once the stream is gone");
        stop.Cancel();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
