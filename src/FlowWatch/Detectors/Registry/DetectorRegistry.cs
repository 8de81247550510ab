using FlowWatch.Detectors.Asymmetric;
using FlowWatch.Detectors.Backends;
using FlowWatch.Detectors.Dns;
using FlowWatch.Detectors.DuplicateIp;
using FlowWatch.Detectors.NodeConnectivity;
using FlowWatch.Findings;
using FlowWatch.Hosting;

namespace FlowWatch.Detectors.Registry;

/// <summary>The one list of detectors FlowWatch runs; everything that enumerates detectors or finding kinds reads it.</summary>
/// <remarks>Adding a detector: its folder (options, detector, descriptor), one line here, one <see cref="FindingKind"/> member per kind.</remarks>
public static class DetectorRegistry
{
    public static IReadOnlyList<DetectorDescriptor> All { get; } =
    [
        DnsDetectorDescriptor.Descriptor,
        DuplicateIpDetectorDescriptor.Descriptor,
        AsymmetricPathDetectorDescriptor.Descriptor,
        BackendHealthDetectorDescriptor.Descriptor,
        NodeConnectivityDetectorDescriptor.Descriptor,
    ];

    /// <summary>Flags every detector shares (after each detector's own in --help).</summary>
    public static IReadOnlyList<DetectorFlag> CommonFlags { get; } =
    [
        new("quiet-period", "A finding resolves after this long (event time) without new evidence.", "DURATION", FlagValueKind.Duration,
            s => $"{All[0].QuietPeriod(s).TotalMinutes:0}m",
            (s, v) => All.Aggregate(s, (acc, d) => d.WithQuietPeriod(acc, (TimeSpan)v))),
    ];

    /// <summary>Metrics every run exports whatever the detectors (isolation's error counter).</summary>
    public static IReadOnlyList<string> CommonMetrics { get; } = [DetectorIsolation.ErrorsMetric];

    /// <summary>Every detector flag, each detector's in registry order, then the common ones.</summary>
    public static IEnumerable<DetectorFlag> Flags => All.SelectMany(d => d.Flags).Concat(CommonFlags);

    private static readonly Dictionary<FindingKind, (DetectorDescriptor Detector, FindingKindInfo Info)> ByKind = Index();

    private static Dictionary<FindingKind, (DetectorDescriptor, FindingKindInfo)> Index()
    {
        var map = new Dictionary<FindingKind, (DetectorDescriptor, FindingKindInfo)>();
        foreach (var d in All)
            foreach (var k in d.Kinds)
                if (!map.TryAdd(k.Kind, (d, k)))
                    throw new InvalidOperationException($"finding kind {k.Kind} is registered by two detectors");
        return map;
    }

    /// <summary>The registered kinds, in registry order.</summary>
    public static IEnumerable<FindingKindInfo> Kinds => All.SelectMany(d => d.Kinds);

    /// <summary>What the registry says about <paramref name="kind"/>; null for a kind no detector registers.</summary>
    public static FindingKindInfo? Kind(FindingKind kind) => ByKind.TryGetValue(kind, out var e) ? e.Info : null;

    /// <summary>The detector that raises <paramref name="kind"/>; null when none does.</summary>
    public static DetectorDescriptor? DetectorOf(FindingKind kind) => ByKind.TryGetValue(kind, out var e) ? e.Detector : null;

    /// <summary>Throws <see cref="ArgumentException"/> for the first detector whose options are bad.</summary>
    public static void Validate(DetectorSettings settings)
    {
        foreach (var d in All) d.Validate(settings);
    }
}
