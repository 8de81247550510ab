namespace FlowWatch.Detectors.Handshakes;

/// <summary>Settings of the <see cref="HandshakeClassifier"/>.</summary>
public sealed record HandshakeClassifierOptions
{
    /// <summary>A handshake not completed, refused or dropped this long after its first SYN is decided then.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Observations of a SYN (or SYN-ACK) closer together than this, at observation points not yet seen for it,
    /// are one packet seen at several points. TCP's initial SYN retransmission timeout is 1 s, so 250 ms is safe.
    /// </summary>
    public TimeSpan DuplicateWindow { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a completed handshake is remembered, so late duplicate observations do not start a new one.</summary>
    public TimeSpan CompletedLinger { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a failed handshake is remembered, so the client's further SYN retries (up to ~2 min) stay one handshake.</summary>
    public TimeSpan FailedLinger { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Bound of the connection table (open handshakes and remembered ones); the oldest is evicted and counted.</summary>
    public int Capacity { get; init; } = 200_000;

    /// <summary>How often (event time) open handshakes are checked against the timeout.</summary>
    public TimeSpan SweepEvery { get; init; } = TimeSpan.FromSeconds(1);

    public void Validate()
    {
        if (HandshakeTimeout <= TimeSpan.Zero) throw new ArgumentException("HandshakeTimeout must be positive");
        if (DuplicateWindow < TimeSpan.Zero || DuplicateWindow >= HandshakeTimeout)
            throw new ArgumentException("DuplicateWindow must be between 0 and HandshakeTimeout");
        if (Capacity < 16) throw new ArgumentException("Capacity must be at least 16");
        if (SweepEvery <= TimeSpan.Zero) throw new ArgumentException("SweepEvery must be positive");
        if (CompletedLinger < TimeSpan.Zero || FailedLinger < TimeSpan.Zero) throw new ArgumentException("linger must not be negative");
    }
}
