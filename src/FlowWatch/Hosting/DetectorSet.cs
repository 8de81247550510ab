using FlowWatch.Detectors;
using FlowWatch.Detectors.Dns;
using FlowWatch.Detectors.DuplicateIp;

namespace FlowWatch.Hosting;

/// <summary>Settings for every detector, bound from command-line flags.</summary>
public sealed record DetectorSettings
{
    public DnsDropOptions Dns { get; init; } = new();
    public DuplicateIpOptions DuplicateIp { get; init; } = new();

    public static DetectorSettings Default { get; } = new();
}

/// <summary>Builds the detectors FlowWatch runs, from their settings.</summary>
/// <remarks>The asymmetric-path and NodePort-backend detectors are not in this build yet (issue 3 is open).</remarks>
public static class DetectorSet
{
    public static IReadOnlyList<IDetector> Create(DetectorSettings settings) =>
        [new DnsDropDetector(settings.Dns), new DuplicateIpDetector(settings.DuplicateIp)];
}
