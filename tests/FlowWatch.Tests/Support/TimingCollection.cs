namespace FlowWatch.Tests.Support;

/// <summary>Tests that hold a wall-clock bound the issues themselves state (SIGTERM to exit ≤ 1 s): they run alone, after
/// the parallel tests, so what they measure is FlowWatch and not the other tests' load on a 2-core machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection
{
    public const string Name = "Wall-clock bounds, run alone";
}
