namespace FlowWatch.Simulation;

/// <summary>When the node-collapse scenario's node loses connectivity, and when its Cilium agent restart fixes it.</summary>
/// <param name="After">From the simulation's start to the collapse. The default is 20 seconds.</param>
/// <param name="RecoverAfter">From the start to the agent restart that ends it; null (the default) for never.</param>
public sealed record NodeCollapseTiming(TimeSpan After, TimeSpan? RecoverAfter = null)
{
    public static NodeCollapseTiming Default { get; } = new(TimeSpan.FromSeconds(20));

    public void Validate()
    {
        if (After < TimeSpan.Zero) throw new ArgumentException($"node collapse must start at or after the start, not {After}", nameof(After));
        if (RecoverAfter is { } r && r <= After)
            throw new ArgumentException($"the agent restart ({r}) must come after the collapse ({After})", nameof(RecoverAfter));
    }
}
