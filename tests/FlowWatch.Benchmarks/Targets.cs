namespace FlowWatch.Benchmarks;

/// <summary>Issue 16's target table, filled in as the run measures each figure and printed at its end in one block.</summary>
/// <remarks>A figure this run did not measure (a mode left out, ../shared absent) is printed as DID NOT RUN, never left out.</remarks>
public static class Targets
{
    private sealed record Row(string Figure, string Target, Func<double, bool> Met, string Unit);

    private static readonly Row[] Rows =
    [
        new("replay.sim.ratio_replay_to_hubble_observe", ">= 10", v => v >= 10, ""),
        new("replay.corpus.ratio_replay_to_hubble_observe", ">= 10", v => v >= 10, ""),
        new("sim.flowwatch_full_pipeline.flows_per_second", ">= 500k", v => v >= 500_000, ""),
        new("corpus.flowwatch_full_pipeline.flows_per_second", ">= 500k", v => v >= 500_000, ""),
        new("sim.ratio_full_pipeline_to_baseline", ">= 1.5", v => v >= 1.5, ""),
        new("corpus.ratio_full_pipeline_to_baseline", ">= 1.5", v => v >= 1.5, ""),
        new("sim.flowwatch_full_pipeline.allocated_bytes_per_flow", "<= 32", v => v <= 32, ""),
        new("corpus.flowwatch_full_pipeline.allocated_bytes_per_flow", "<= 32", v => v <= 32, ""),
        new("grpc.decode_only.flows_per_second", ">= 300k", v => v >= 300_000, ""),
        new("grpc.ratio_full_to_decode_only", ">= 0.9", v => v >= 0.9, ""),
        new("scale.flows_per_second", ">= 250k", v => v >= 250_000, ""),
        new("scale.gc_share_percent", "<= 10", v => v <= 10, " %"),
    ];

    private static readonly Dictionary<string, double> Values = new(StringComparer.Ordinal);

    public static void Record(string figure, double value) => Values[figure] = value;

    public static void Print()
    {
        Console.WriteLine($"# issue 16 targets, this run (load average now {Machine.LoadAverage()}; rates are wall clock, best of the repeats):");
        foreach (var row in Rows)
            Console.WriteLine(Values.TryGetValue(row.Figure, out var v)
                ? $"target.{row.Figure}: {Format(v)}{row.Unit}   # target {row.Target}: {(row.Met(v) ? "met" : "NOT met")}"
                : $"target.{row.Figure}: DID NOT RUN   # target {row.Target}");
    }

    private static string Format(double v) => Math.Abs(v) >= 1000 ? v.ToString("F0") : v.ToString("F2");
}
