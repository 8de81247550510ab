namespace FlowWatch.Pipeline;

/// <summary>How event time treats gaps, late flows and flows stamped far from the rest.</summary>
public sealed record EventTimeOptions
{
    /// <summary>
    /// How much of a gap in event time is stepped through tick by tick before the rest is crossed at once. Longer than
    /// every detector's window plus quiet period (the longest today: duplicate-IP, 10 min + 2 min), so state a gap makes
    /// stale expires at its own time. The default is 15 minutes.
    /// </summary>
    public TimeSpan CatchUp { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How far a node's flows may lag the newest node's and still be put back in order before the detectors (see
    /// <see cref="ReorderBuffer"/>); a flow older than event time by more than this is late (counted in
    /// <c>flowwatch_late_flows_total</c>; detectors still see it). The default is 2 seconds, a Relay's merge lag.
    /// </summary>
    public TimeSpan AllowedLateness { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Flows the reorder stage may hold; past it the oldest is passed on early and counted. The default is 200,000.</summary>
    public int ReorderCapacity { get; init; } = 200_000;

    /// <summary>
    /// A flow older than event time by more than this (a node whose clock is behind) is kept in the store and counted as
    /// bad time, but not given to the detectors, whose windows it would corrupt. The default is 5 minutes.
    /// </summary>
    public TimeSpan FarPast { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Live streams: a flow stamped further than this ahead of the wall clock cannot move event time; it is stored and
    /// counted as bad time. The default is 1 minute.
    /// </summary>
    public TimeSpan FutureTolerance { get; init; } = TimeSpan.FromMinutes(1);

    public static EventTimeOptions Default { get; } = new();

    public void Validate()
    {
        if (CatchUp < TimeSpan.Zero) throw new ArgumentException("event time: catch-up must not be negative");
        if (AllowedLateness < TimeSpan.Zero) throw new ArgumentException("event time: allowed lateness must not be negative");
        if (AllowedLateness > TimeSpan.FromMinutes(1)) throw new ArgumentException("event time: allowed lateness must be at most 1 minute (the detectors' findings wait for it)");
        if (ReorderCapacity is < 1 or > 10_000_000) throw new ArgumentException("event time: reorder capacity must be 1..10,000,000");
        if (FarPast < AllowedLateness) throw new ArgumentException("event time: far-past bound must be at least the allowed lateness");
        if (FutureTolerance <= TimeSpan.Zero) throw new ArgumentException("event time: future tolerance must be positive");
    }
}
