namespace FlowWatch.Kubernetes.Events;

/// <summary>Rate limits and de-duplication of the Kubernetes Events FlowWatch writes for findings.</summary>
public sealed record FindingEventOptions
{
    /// <summary>Events written (created or patched) per minute, at most; a burst of <see cref="Burst"/> is allowed.</summary>
    public int PerMinute { get; init; } = 30;

    public int Burst { get; init; } = 10;

    /// <summary>A finding seen again within this span is not written again; after it, its Event's count is patched.</summary>
    public TimeSpan RepeatEvery { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Findings whose Event is remembered (for de-duplication and patching); the oldest is forgotten beyond it.</summary>
    public int MaxTracked { get; init; } = 10_000;

    /// <summary>Findings waiting to be written; the oldest is shed (and counted) beyond it.</summary>
    public int QueueCapacity { get; init; } = 1_000;

    public string Component { get; init; } = "flowwatch";

    public FindingEventOptions Validate()
    {
        if (PerMinute < 1 || Burst < 1 || MaxTracked < 1 || QueueCapacity < 1) throw new ArgumentException("events: limits must be at least 1");
        if (RepeatEvery < TimeSpan.Zero) throw new ArgumentException("events: RepeatEvery must not be negative");
        return this;
    }
}
