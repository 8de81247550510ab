namespace FlowWatch.Tests.Fuzz;

/// <summary>How long each fuzz target runs: a few seconds in CI, as long as asked on demand.</summary>
/// <remarks>
/// <c>FLOWWATCH_FUZZ_SECONDS=600 ./test.sh --filter FullyQualifiedName~Fuzz</c> runs each target for ten
/// minutes; <c>FLOWWATCH_FUZZ_SEED</c> replays a run (the seed is printed by every target) or, set to
/// <c>random</c>, draws a new one.
/// </remarks>
public static class FuzzBudget
{
    public static TimeSpan PerTarget { get; } = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("FLOWWATCH_FUZZ_SECONDS"), out var s) && s > 0 ? s : 3);

    /// <summary>The same seed on every run unless asked (<c>FLOWWATCH_FUZZ_SEED=N</c>, or <c>random</c> for a new one):
    /// a CI gate must not pass or fail by the draw; new ground is covered by long runs with fresh seeds.</summary>
    public static int Seed { get; } = Environment.GetEnvironmentVariable("FLOWWATCH_FUZZ_SEED") switch
    {
        "random" => Environment.TickCount & 0x7fffffff,
        { } text when int.TryParse(text, out var seed) => seed,
        _ => 411404,
    };

    /// <summary>Whether a target goes on: until its time budget is spent, and in any case until it has tried
    /// <paramref name="minimum"/> inputs. The fixed seed makes those first inputs the same on every run, so how much
    /// a loaded machine gets through in the budget never decides whether the gate passes.</summary>
    public static bool KeepGoing(System.Diagnostics.Stopwatch clock, long inputs, long minimum) =>
        inputs < minimum || clock.Elapsed < PerTarget;

    /// <summary>One input taking longer than this counts as a hang. Wall time, so generous: a multi-megabyte gzip line
    /// took 6.8 s at load 79 on 2 cores, which is load, not a hang; a real hang never ends. Speed is bench.sh's.</summary>
    public static TimeSpan HangLimit { get; } = TimeSpan.FromSeconds(30);
}
