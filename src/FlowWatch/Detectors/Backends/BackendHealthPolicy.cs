using FlowWatch.Detectors.Handshakes;

namespace FlowWatch.Detectors.Backends;

/// <summary>One backend's counts over its window: what the health policy judges.</summary>
public readonly record struct BackendCounts(long Handshakes, long HandshakeFailures, long Http, long HttpFailures, long Incomplete)
{
    /// <summary>Reads the window of one backend (slots as <see cref="BackendEntry"/> lays them out).</summary>
    internal static BackendCounts Of(RollingCounters c, bool http5xxIsFailure)
    {
        var completed = c.Total((int)HandshakeOutcome.Completed);
        long failures = 0;
        for (var i = 0; i < HandshakeOutcomes.Count; i++)
            if (HandshakeOutcomes.IsFailure((HandshakeOutcome)i)) failures += c.Total(i);
        var http = c.Sum(BackendEntry.HttpSlot, BackendEntry.HttpSlot + 4);
        var httpFailures = http5xxIsFailure ? c.Total(BackendEntry.HttpSlot + 3) : 0;
        return new BackendCounts(completed + failures, failures, http, httpFailures, c.Total((int)HandshakeOutcome.Incomplete));
    }
}

/// <summary>A backend's health: healthy, degraded, unhealthy or idle, its gauge value and the failure share behind it.</summary>
/// <param name="Judged">The backend had enough samples for a verdict by ratio (<see cref="BackendHealthOptions.MinSamples"/>).</param>
public readonly record struct BackendVerdict(string State, double Score, double FailureRatio, bool Judged, BackendCounts Counts)
{
    public bool IsUnhealthy => State == "unhealthy";
    public bool IsHealthy => State == "healthy";
}

/// <summary>Counts in, verdict out: the backend-health decision, kept apart from the table and the text like YARP's
/// <c>TransportFailureRateHealthPolicy</c>.</summary>
/// <remarks>
/// The failure share is the worse of the handshake failure share (refused, dropped, timed out with the SYN delivered,
/// reply or SYN lost) and the HTTP 5xx share, each counted only once it has <see cref="BackendHealthOptions.MinSamples"/>.
/// Without enough samples a backend is healthy, or degraded at worst, never unhealthy; without traffic it is idle.
/// </remarks>
public static class BackendHealthPolicy
{
    public static BackendVerdict Judge(in BackendCounts c, BackendHealthOptions o)
    {
        var traffic = c.Handshakes + c.Http + c.Incomplete;
        if (traffic == 0) return new BackendVerdict("idle", -1, 0, false, c);
        double ratio = 0;
        var judged = false;
        if (c.Handshakes >= o.MinSamples) { ratio = Math.Max(ratio, (double)c.HandshakeFailures / c.Handshakes); judged = true; }
        if (c.Http >= o.MinSamples) { ratio = Math.Max(ratio, (double)c.HttpFailures / c.Http); judged = true; }
        if (!judged)
        {
            var anyFail = c.HandshakeFailures + c.HttpFailures > 0;
            return new BackendVerdict(anyFail ? "degraded" : "healthy", anyFail ? 0.5 : 1,
                (double)(c.HandshakeFailures + c.HttpFailures) / Math.Max(1, c.Handshakes + c.Http), false, c);
        }
        return ratio >= o.UnhealthyRatio ? new BackendVerdict("unhealthy", 0, ratio, true, c)
            : ratio >= o.DegradedRatio ? new BackendVerdict("degraded", 0.5, ratio, true, c)
            : new BackendVerdict("healthy", 1, ratio, true, c);
    }

    /// <summary>
    /// Whether a degraded backend is worth a (Warning) finding: judged on enough samples, with at least one healthy sibling,
    /// and failing at least <see cref="BackendHealthOptions.DegradedRatio"/> more of its traffic than its siblings do
    /// together. When every sibling fails as much, the service is the problem, not this backend.
    /// </summary>
    public static bool StandsOut(in BackendVerdict self, double siblingsFailureRatio, int healthySiblings, BackendHealthOptions o) =>
        self.Judged && self.State == "degraded" && healthySiblings > 0 && self.FailureRatio - siblingsFailureRatio >= o.DegradedRatio;
}
