using System.Diagnostics;
using FlowWatch.Simulation;

namespace FlowWatch.Benchmarks;

/// <summary>The simulator's traffic generator on one thread: how fast demos and tests can be fed.</summary>
/// <remarks>Was a timed unit test; a floor on flows/s fails on a loaded machine, so it is a printed figure here.</remarks>
public static class GeneratorBench
{
    public static void Run(int repeats)
    {
        var generator = new TrafficGenerator(1, 10, ScenarioSet.All, 1_000_000);
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        foreach (var _ in generator.Generate(start, TimeSpan.FromSeconds(0.2))) { }
        var rates = new List<double>();
        for (var round = 0; round < repeats; round++)
        {
            var count = 0;
            var watch = Stopwatch.StartNew();
            foreach (var _ in generator.Generate(start, TimeSpan.FromSeconds(0.5))) count++;
            rates.Add(count / watch.Elapsed.TotalSeconds);
        }
        Console.WriteLine($"simulator.generator_flows_per_second: {rates.Max():F0}   # one thread, every scenario on");
        Console.WriteLine($"simulator.generator_flows_per_second_min: {rates.Min():F0}");
    }
}
