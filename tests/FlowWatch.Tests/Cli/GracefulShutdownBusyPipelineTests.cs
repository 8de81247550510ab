using FlowWatch.Pipeline;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Cli;

/// <summary>SIGTERM stops the demo within a second with a detector slow on every flow or stuck on one, exits 0 and writes the
/// checkpoint; a service that throws while stopping is reported with exit 1, never a crash, and the checkpoint is still written.</summary>
/// <remarks>The built CLI as a child process, slowed by its test hooks (FLOWWATCH_TEST_FLOW_DELAY, FLOWWATCH_TEST_AT_STOP).
/// Times are from the signal to the exit and printed.</remarks>
[Collection(TimingCollection.Name)]
public sealed class GracefulShutdownBusyPipelineTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);
    private const string HoldingLine = "flowwatch test hook: holding the pipeline";
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-busy-stop-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // 250ms: slow on every flow (one flow in can release several from the reorder stage, each as slow); 30s: stuck on one.
    [Theory]
    [InlineData("250ms")]
    [InlineData("30s")]
    public async Task Demo_SigtermWithABusyDetector_ExitsZeroWithinASecond_WithTheCheckpoint(string perFlow)
    {
        var checkpoint = Path.Combine(_dir, "checkpoint.json");
        // No periodic write before the stop: the file can only come from the stop.
        await using var demo = await ShutdownChild.StartAsync(
            ["demo", "--scenario", "none", "--rate", "500", "--checkpoint", checkpoint, "--checkpoint-every", "1h"], ShutdownChild.FlowDelay(perFlow));
        await demo.WaitForOutputAsync(HoldingLine, TimeSpan.FromSeconds(60));
        Assert.False(File.Exists(checkpoint), "a checkpoint was written before the stop");

        var (code, took) = await demo.TerminateAsync();
        output.WriteLine($"demo, detector taking {perFlow} a flow, SIGTERM: exit {code} {took.TotalMilliseconds:N0} ms after the signal");
        Assert.True(code == 0, $"exit code {code} after SIGTERM:\n{demo.Log}");
        Assert.True(took <= Bound, $"took {took.TotalMilliseconds:N0} ms from SIGTERM to exit (at most {Bound.TotalMilliseconds:N0}):\n{demo.Log}");
        Assert.NotNull(Checkpoint.Load(checkpoint));
        Assert.Contains("checkpoint written to " + checkpoint, demo.Log);
        // Stuck for 30 s on one flow, the pipeline cannot have finished by the drain timeout: it was left busy, and the last line
        // says so (or, on a machine too loaded for the graceful stop to end first, the backstop's line says why it stopped).
        if (perFlow == "30s")
            Assert.True(demo.Log.Contains("(the pipeline was still busy with a slow detector") ||
                        demo.Log.Contains("shutdown deadline before the graceful stop had finished"), $"no word of the busy pipeline:\n{demo.Log}");
    }

    [Fact]
    public async Task Demo_AServiceThrowingWhileStopping_ExitsOneWithoutACrash_AndStillWritesTheCheckpoint()
    {
        var checkpoint = Path.Combine(_dir, "checkpoint.json");
        await using var demo = await ShutdownChild.StartAsync(
            ["demo", "--scenario", "none", "--rate", "500", "--checkpoint", checkpoint, "--checkpoint-every", "1h"],
            // The backstop moved out of the way: on a loaded machine its exit 0 at the deadline could come before the graceful
            // stop reaches the failing service, and this test is about what the graceful stop does with the failure.
            new Dictionary<string, string> { ["FLOWWATCH_TEST_AT_STOP"] = "throw", ["FLOWWATCH_TEST_SHUTDOWN_DEADLINE"] = "30s" });
        await demo.WaitForMetricAsync("flowwatch_flows_total", v => v >= 100, TimeSpan.FromSeconds(60));

        var (code, took) = await demo.TerminateAsync();
        output.WriteLine($"demo, a service throwing at stop, SIGTERM: exit {code} {took.TotalMilliseconds:N0} ms after the signal");
        // 1 says the stop failed; an unhandled exception would have aborted the process (134) with a crash dump.
        Assert.True(code == 1, $"exit code {code} after SIGTERM:\n{demo.Log}");
        Assert.DoesNotContain("Unhandled exception", demo.Log);
        Assert.Contains("failed while stopping: InvalidOperationException: FLOWWATCH_TEST_AT_STOP=throw", demo.Log);
        var saved = Checkpoint.Load(checkpoint);
        Assert.NotNull(saved);
        Assert.True(saved!.Sources.Values.Single() > 0, "the checkpoint has no resume point");
    }
}
