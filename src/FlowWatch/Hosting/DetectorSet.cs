using FlowWatch.Detectors;
using FlowWatch.Detectors.Asymmetric;
using FlowWatch.Detectors.Backends;
using FlowWatch.Detectors.Dns;
using FlowWatch.Detectors.DuplicateIp;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Findings;

namespace FlowWatch.Hosting;

/// <summary>Settings for every detector, bound from command-line flags.</summary>
public sealed record DetectorSettings
{
    public DnsDropOptions Dns { get; init; } = new();
    public DuplicateIpOptions DuplicateIp { get; init; } = new();
    /// <summary>TCP handshake tracking shared by the asymmetric-path and backend-health detectors.</summary>
    public HandshakeClassifierOptions Handshakes { get; init; } = new();
    public AsymmetricPathOptions Asymmetric { get; init; } = new();
    public BackendHealthOptions Backends { get; init; } = new();

    public static DetectorSettings Default { get; } = new();
}

/// <summary>Builds the detectors FlowWatch runs, from their settings.</summary>
/// <remarks>
/// The asymmetric-path and backend-health detectors share one <see cref="HandshakeClassifier"/>, so the handshake
/// table is kept once and each handshake is counted once in <c>flowwatch_tcp_handshakes_total</c>.
/// </remarks>
public static class DetectorSet
{
    /// <summary>How long the detector behind <paramref name="kind"/> waits without evidence before it resolves a finding.</summary>
    public static TimeSpan QuietPeriod(DetectorSettings settings, FindingKind kind) => kind switch
    {
        FindingKind.DnsDrops => settings.Dns.QuietPeriod,
        FindingKind.DuplicateIp or FindingKind.UnmanagedPod => settings.DuplicateIp.QuietPeriod,
        FindingKind.AsymmetricPath => settings.Asymmetric.QuietPeriod,
        FindingKind.BackendUnhealthy => settings.Backends.QuietPeriod,
        _ => TimeSpan.FromMinutes(2),
    };

    public static IReadOnlyList<IDetector> Create(DetectorSettings settings)
    {
        var handshakes = new HandshakeClassifier(settings.Handshakes);
        return
        [
            new DnsDropDetector(settings.Dns),
            new DuplicateIpDetector(settings.DuplicateIp),
            new AsymmetricPathDetector(settings.Asymmetric, handshakes),
            new BackendHealthDetector(settings.Backends, handshakes),
        ];
    }
}
