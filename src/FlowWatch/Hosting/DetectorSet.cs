using FlowWatch.Detectors;

namespace FlowWatch.Hosting;

/// <summary>Settings for every detector, bound from command-line flags.</summary>
public sealed record DetectorSettings
{
    public static DetectorSettings Default { get; } = new();
}

/// <summary>Builds the detectors FlowWatch runs, from their settings.</summary>
public static class DetectorSet
{
    public static IReadOnlyList<IDetector> Create(DetectorSettings settings) => [];
}
