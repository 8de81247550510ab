using System.Diagnostics;

namespace FlowWatch.Benchmarks;

/// <summary>One contender's result: the best run, and the range over all timed runs.</summary>
/// <remarks>Per CPU-second: flows over the process's CPU time in the run, a figure the other engineers' load on the shared cores disturbs less.</remarks>
public sealed record Result(double FlowsPerSecond, double AllocatedBytesPerFlow, double MinFlowsPerSecond, double MaxAllocatedBytesPerFlow, double FlowsPerCpuSecond = 0);

/// <summary>A contender: set up once, then handle message i of the input (any number of times).</summary>
public interface IContender : IDisposable
{
    /// <param name="shift">Nanoseconds to add to the message's time, so each pass over the input comes later in event time.</param>
    void Handle(byte[] message, long sequence, long shift);
}

/// <summary>Runs a contender over the input: a warm-up, then several timed runs; prints the best and the range.</summary>
public static class Measure
{
    /// <param name="warmup">Flows before timing; contenders with the store pass more than its capacity, so the ring is full and reused (steady state).</param>
    public static Result Run(string name, BenchOptions options, Input input, Func<IContender> create, long warmup = 400_000)
    {
        using var contender = create();
        Loop(contender, input, warmup, 0);   // warm-up: JIT, tiering, interning tables, the store's ring
        var runs = new List<(double Rate, double Bytes, double CpuRate)>();
        var process = System.Diagnostics.Process.GetCurrentProcess();
        var offset = warmup;
        for (var i = 0; i < options.Repeats; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            // Every thread's allocations (precise), not just this one's: timers or pools on other threads count too.
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var own = GC.GetAllocatedBytesForCurrentThread();
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            Loop(contender, input, options.Flows, offset);
            watch.Stop();
            process.Refresh();
            var cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;
            offset += options.Flows;
            var others = GC.GetTotalAllocatedBytes(precise: true) - allocated - (GC.GetAllocatedBytesForCurrentThread() - own);
            if (others > options.Flows) Console.WriteLine($"# {name}: {others / (double)options.Flows:F1} B per flow allocated on other threads during the run");
            runs.Add((options.Flows / watch.Elapsed.TotalSeconds, (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)options.Flows, options.Flows / cpuSeconds));
        }
        var best = runs.MaxBy(r => r.Rate);
        var result = new Result(best.Rate, best.Bytes, runs.Min(r => r.Rate), runs.Max(r => r.Bytes), runs.Max(r => r.CpuRate));
        Print(name, result);
        return result;
    }

    public static void Print(string name, Result r)
    {
        Console.WriteLine($"{name}.flows_per_second: {r.FlowsPerSecond:F0}");
        Console.WriteLine($"{name}.flows_per_second_min: {r.MinFlowsPerSecond:F0}");
        Console.WriteLine($"{name}.flows_per_cpu_second: {r.FlowsPerCpuSecond:F0}");
        Console.WriteLine($"{name}.allocated_bytes_per_flow: {r.AllocatedBytesPerFlow:F1}");
        Console.WriteLine($"{name}.allocated_bytes_per_flow_max: {r.MaxAllocatedBytesPerFlow:F1}");
    }

    private static void Loop(IContender contender, Input input, long flows, long offset)
    {
        var messages = input.Messages;
        for (long i = 0; i < flows; i++)
        {
            var pass = (offset + i) / messages.Count;
            contender.Handle(messages[(int)((offset + i) % messages.Count)], offset + i, pass * input.SpanNanos);
        }
    }
}
