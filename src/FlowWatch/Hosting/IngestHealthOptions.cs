namespace FlowWatch.Hosting;

/// <summary>When ingest counts as behind: /readyz says not ready and <c>flowwatch_ingest_behind</c> is 1.</summary>
public sealed record IngestHealthOptions
{
    /// <summary>Wall time minus the event time of the newest processed flow, beyond which ingest is behind. The default is 15 seconds.</summary>
    public TimeSpan MaxEventTimeLag { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Events Hubble reports lost per second (over <see cref="LostWindow"/>) beyond which ingest is behind. The default is 100.</summary>
    public double MaxLostPerSecond { get; init; } = 100;

    /// <summary>Window the lost-event rate is taken over. The default is 10 seconds.</summary>
    public TimeSpan LostWindow { get; init; } = TimeSpan.FromSeconds(10);

    public static IngestHealthOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (MaxEventTimeLag <= TimeSpan.Zero) throw new ArgumentException($"max event-time lag must be above 0, not {MaxEventTimeLag}", nameof(MaxEventTimeLag));
        if (!double.IsFinite(MaxLostPerSecond) || MaxLostPerSecond < 0)
            throw new ArgumentException($"max lost events per second must be a finite number >= 0, not {MaxLostPerSecond}", nameof(MaxLostPerSecond));
        if (LostWindow < TimeSpan.FromSeconds(1) || LostWindow > TimeSpan.FromMinutes(10))
            throw new ArgumentException($"lost-event window must be 1s..10m, not {LostWindow}", nameof(LostWindow));
    }
}
