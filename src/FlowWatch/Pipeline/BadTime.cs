namespace FlowWatch.Pipeline;

/// <summary>Why a flow's timestamp was not believed; the <c>reason</c> label of <c>flowwatch_bad_time_total</c>.</summary>
public enum BadTime
{
    /// <summary>Stamped ahead of the wall clock (live) or of its own recording's neighbours (replay).</summary>
    FarFuture,

    /// <summary>Stamped further behind event time than <see cref="EventTimeOptions.FarPast"/> (a node whose clock is behind).</summary>
    FarPast,
}

/// <summary>Label values for <see cref="BadTime"/>.</summary>
public static class BadTimeNames
{
    public static string Of(BadTime reason) => reason == BadTime.FarFuture ? "far_future" : "far_past";
}
