using System.Diagnostics;

namespace FlowWatch.Benchmarks;

/// <summary>One contender's result.</summary>
public sealed record Result(double FlowsPerSecond, double AllocatedBytesPerFlow);

/// <summary>A contender: set up once, then handle message i of the input (any number of times).</summary>
public interface IContender : IDisposable
{
    /// <param name="shift">Nanoseconds to add to the message's time, so each pass over the input comes later in event time.</param>
    void Handle(byte[] message, long sequence, long shift);
}

/// <summary>Runs a contender over the input: a warm-up, then the best of several timed runs.</summary>
public static class Measure
{
    public static Result Run(string name, BenchOptions options, Input input, Func<IContender> create)
    {
        using var contender = create();
        Loop(contender, input, Math.Min(options.Flows, 200_000), 0);   // warm-up: JIT, tiering, interning tables
        Result? best = null;
        long offset = 1_000_000_000;
        for (var i = 0; i < options.Repeats; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            Loop(contender, input, options.Flows, offset);
            watch.Stop();
            offset += options.Flows;
            var result = new Result(options.Flows / watch.Elapsed.TotalSeconds,
                (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)options.Flows);
            if (best is null || result.FlowsPerSecond > best.FlowsPerSecond) best = result;
        }
        Console.WriteLine($"{name}.flows_per_second: {best!.FlowsPerSecond:F0}");
        Console.WriteLine($"{name}.allocated_bytes_per_flow: {best.AllocatedBytesPerFlow:F1}");
        return best;
    }

    private static void Loop(IContender contender, Input input, long flows, long offset)
    {
        var messages = input.Messages;
        for (long i = 0; i < flows; i++)
        {
            var pass = (offset + i) / messages.Count;
            contender.Handle(messages[(int)(i % messages.Count)], offset + i, pass * input.SpanNanos);
        }
    }
}
