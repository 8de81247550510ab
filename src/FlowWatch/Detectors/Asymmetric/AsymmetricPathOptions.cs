using FlowWatch.Flows;

namespace FlowWatch.Detectors.Asymmetric;

/// <summary>Settings of the <see cref="AsymmetricPathDetector"/>.</summary>
public sealed record AsymmetricPathOptions
{
    /// <summary>Named client ranges (peered VPCs, the VPC itself). A client outside them is grouped by its /24 (/64 for IPv6).</summary>
    public IReadOnlyList<IpPrefix> PeerRanges { get; init; } = [];

    /// <summary>Handshakes from one range to one pod in the window before any verdict.</summary>
    public int MinHandshakes { get; init; } = 5;

    /// <summary>Share of those handshakes that must be reply_lost to raise the finding.</summary>
    public double ReplyLostRatio { get; init; } = 0.5;

    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(2);

    public TimeSpan Bucket { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Event time without a new report before a finding resolves.</summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Bound of (pod, peer range) groups; the least recently used is evicted and counted.</summary>
    public int MaxGroups { get; init; } = 20_000;

    /// <summary>Bound of remembered pod-IP ENI placements.</summary>
    public int MaxEniAddresses { get; init; } = 100_000;

    public void Validate()
    {
        if (MinHandshakes < 1) throw new ArgumentException("MinHandshakes must be at least 1");
        // Written so that NaN fails too: every comparison with NaN is false.
        if (!(ReplyLostRatio > 0 && ReplyLostRatio <= 1)) throw new ArgumentException($"ReplyLostRatio must be in (0, 1], not {ReplyLostRatio}", nameof(ReplyLostRatio));
        if (Bucket <= TimeSpan.Zero || Window < Bucket) throw new ArgumentException("Window must be at least one Bucket");
        if (QuietPeriod <= TimeSpan.Zero) throw new ArgumentException("QuietPeriod must be positive");
        if (MaxGroups < 1 || MaxEniAddresses < 1) throw new ArgumentException("bounds must be positive");
    }

    /// <summary>The peer range a client belongs to: the first configured range holding it, else its /24 (or /64).</summary>
    public IpPrefix RangeOf(IpAddr client)
    {
        var ranges = PeerRanges;
        for (var i = 0; i < ranges.Count; i++)
            if (ranges[i].Contains(client)) return ranges[i];
        return IpPrefix.Of(client, client.IsV4 ? 24 : 64);
    }
}
