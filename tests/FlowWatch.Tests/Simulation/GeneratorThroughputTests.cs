using System.Diagnostics;
using FlowWatch.Simulation;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Simulation;

public sealed class GeneratorThroughputTests(ITestOutputHelper output)
{
    /// <summary>Guards against a pathological slowdown; the real figure (printed) is far above the floor.</summary>
    [Fact]
    public void Generator_MakesOverAHundredThousandFlowsPerSecondOnOneThread()
    {
        var generator = new TrafficGenerator(1, 10, ScenarioSet.All, 1_000_000);
        foreach (var _ in generator.Generate(SimFlows.Start, TimeSpan.FromSeconds(0.2))) { }
        var best = 0.0;
        for (var round = 0; round < 3; round++)
        {
            var count = 0;
            var watch = Stopwatch.StartNew();
            foreach (var _ in generator.Generate(SimFlows.Start, TimeSpan.FromSeconds(0.5))) count++;
            watch.Stop();
            best = Math.Max(best, count / watch.Elapsed.TotalSeconds);
            output.WriteLine($"round {round}: {count:N0} flows in {watch.Elapsed.TotalMilliseconds:F0} ms = {count / watch.Elapsed.TotalSeconds:N0} flows/s");
        }
        Assert.True(best > 100_000, $"best {best:N0} flows/s");
    }
}
