using FlowWatch.Cli.Commands;
using FlowWatch.Hosting;
using FlowWatch.Hubble;
using FlowWatch.Pipeline;
using FlowWatch.Simulation;
using FlowWatch.Tests.Alerting;

namespace FlowWatch.Tests.Reliability;

/// <summary>A checkpoint that parses as JSON but is not a checkpoint is reported in one line and ignored: the built
/// CLI starts fresh instead of crash-looping; a resume point in the future is discarded, not obeyed.</summary>
public sealed class BadCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-badcp-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"openFindings\":[]}")]
    [InlineData("[null]")]
    [InlineData("[{}]")]
    [InlineData("null")]
    [InlineData("{\"writtenAt\":\"2026-01-01T00:00:00Z\",\"sources\":{},\"openFindings\":[null]}")]
    [InlineData("{\"writtenAt\":\"2026-01-01T00:00:00Z\",\"sources\":{},\"openFindings\":[{\"id\":\"x\"}]}")]
    [InlineData("{\"writtenAt\":\"2026-01-01T00:00:00Z\",\"sources\":{\"a\":-5},\"openFindings\":[]}")]
    public async Task WrongShapedCheckpoint_IsReportedInOneLineAndIgnored(string content)
    {
        var path = Path.Combine(_dir, "cp.json");
        await File.WriteAllTextAsync(path, content);
        await using var demo = await DemoProcess.StartAsync("none", ["--rate", "200", "--checkpoint", path], readyTimeout: TimeSpan.FromSeconds(60));
        var warning = demo.AllOutput.Split('\n').Where(l => l.Contains("checkpoint", StringComparison.Ordinal) && l.Contains("starting without it", StringComparison.Ordinal)).ToList();
        Assert.True(warning.Count == 1, $"expected one line saying the checkpoint is ignored:\n{demo.AllOutput}");
        Assert.Equal(0, await demo.TerminateAsync(TimeSpan.FromSeconds(30)));
        // Shutdown wrote a valid checkpoint over the bad one.
        Assert.Null(CheckpointValidator.Problem(Checkpoint.Load(path)));
    }

    [Fact]
    public async Task ResumePointInTheFuture_IsDiscardedWithAWarning_AndFlowsAreProcessed()
    {
        await using var sim = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 500 });
        await sim.StartAsync();
        var target = sim.Address.ToString().TrimEnd('/');
        var path = Path.Combine(_dir, "future.json");
        var future = (DateTimeOffset.UtcNow.AddDays(1) - DateTimeOffset.UnixEpoch).Ticks * 100;
        new Checkpoint(DateTimeOffset.UtcNow, new Dictionary<string, long> { [target] = future }, []).Save(path);
        var warnings = new List<string>();
        FlowWatchRuntime? runtime = null;
        using var stop = new CancellationTokenSource();
        var run = WatchCommand.RunWatcherAsync(target, "127.0.0.1:0", TimeSpan.FromSeconds(5), sim.ClusterView(), stop.Token,
            new HubbleClientOptions { StatusPollInterval = TimeSpan.Zero },
            new WatcherSettings { CheckpointPath = path, Started = r => runtime = r, Warn = warnings.Add });
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (runtime is null || runtime.Pipeline.Stats.Flows < 100)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no flows processed within 30 s after a future resume point; warnings: {string.Join(" | ", warnings)}");
            await Task.Delay(20);
        }
        stop.Cancel();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Contains(warnings, w => w.Contains("discarding it", StringComparison.Ordinal));
    }

    [Fact]
    public void TempFilesLeftByAKilledWriter_AreRemovedAtStart()
    {
        var path = Path.Combine(_dir, "cp.json");
        var stale = Path.Combine(_dir, ".cp.json.12345.tmp");
        File.WriteAllText(stale, "{\"half");
        _ = new CheckpointKeeper(path, () => [], new ResumeTracker());
        Assert.False(File.Exists(stale));
    }
}
