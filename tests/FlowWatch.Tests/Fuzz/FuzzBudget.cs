namespace FlowWatch.Tests.Fuzz;

/// <summary>How long each fuzz target runs: a few seconds in CI, as long as asked on demand.</summary>
/// <remarks>
/// <c>FLOWWATCH_FUZZ_SECONDS=600 ./test.sh --filter FullyQualifiedName~Fuzz</c> runs each target for ten
/// minutes; <c>FLOWWATCH_FUZZ_SEED</c> replays a run (the seed is printed by every target).
/// </remarks>
public static class FuzzBudget
{
    public static TimeSpan PerTarget { get; } = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("FLOWWATCH_FUZZ_SECONDS"), out var s) && s > 0 ? s : 3);

    public static int Seed { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("FLOWWATCH_FUZZ_SEED"), out var seed) ? seed : Environment.TickCount & 0x7fffffff;

    /// <summary>One input taking longer than this counts as a hang (generous: a GC pause on a loaded machine is not one).</summary>
    public static TimeSpan HangLimit { get; } = TimeSpan.FromSeconds(5);
}
