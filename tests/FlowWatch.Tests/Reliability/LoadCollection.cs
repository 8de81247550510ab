namespace FlowWatch.Tests.Reliability;

/// <summary>Load tests measure rates and memory of a child process: they run alone, not beside other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadCollection
{
    public const string Name = "Load (runs alone)";
}
