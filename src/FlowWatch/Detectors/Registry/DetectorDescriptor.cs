using FlowWatch.Findings;
using FlowWatch.Hosting;

namespace FlowWatch.Detectors.Registry;

/// <summary>Everything the rest of FlowWatch needs to know about one detector, declared once beside it.</summary>
/// <remarks>
/// The model is Cilium's Hubble metrics plugins (<c>pkg/hubble/metrics/&lt;name&gt;/plugin.go</c> registered in
/// <c>api/registry.go</c>) and dotnet-monitor's trigger descriptors: the detector's folder holds its descriptor, and
/// <see cref="DetectorRegistry.All"/> lists every descriptor once. Flags, usage text, finding kind names, event
/// reasons, quiet periods and the metric contract are all read from here.
/// </remarks>
/// <param name="Name">Short name used in logs, metrics (<c>detector</c> label) and reports ("dns", "backend-health", ...).</param>
/// <param name="Kinds">The finding kinds the detector raises.</param>
/// <param name="Flags">Its command-line flags (shared by watch, demo and replay).</param>
/// <param name="Metrics">Names of the Prometheus metrics it exports.</param>
/// <param name="QuietPeriod">How long its findings stay open without new evidence.</param>
/// <param name="WithQuietPeriod">The settings with its quiet period replaced (the shared --quiet-period flag).</param>
/// <param name="Validate">Throws <see cref="ArgumentException"/> when its options are bad.</param>
/// <param name="Create">Builds the detector from the settings and the parts detectors share.</param>
public sealed record DetectorDescriptor(
    string Name,
    IReadOnlyList<FindingKindInfo> Kinds,
    IReadOnlyList<DetectorFlag> Flags,
    IReadOnlyList<string> Metrics,
    Func<DetectorSettings, TimeSpan> QuietPeriod,
    Func<DetectorSettings, TimeSpan, DetectorSettings> WithQuietPeriod,
    Action<DetectorSettings> Validate,
    Func<DetectorSettings, SharedDetectorParts, IDetector> Create);

/// <summary>One finding kind: its name in the API, the alerts that page for it, and its Kubernetes event reason.</summary>
/// <param name="ApiName">snake_case name in the API, the CLI and <c>flowwatch_findings{kind}</c>.</param>
/// <param name="Alerts">Alert names in rules/flowwatch-alerts.yaml that fire for it.</param>
/// <param name="EventReason">Reason of the Kubernetes Event it becomes.</param>
public sealed record FindingKindInfo(FindingKind Kind, string ApiName, IReadOnlyList<string> Alerts, string EventReason);

/// <summary>State that several detectors share, built once per <see cref="DetectorSet.Create"/>.</summary>
/// <remarks>The TCP handshake classifier is kept once so each handshake is classified and counted once.</remarks>
public sealed class SharedDetectorParts(DetectorSettings settings)
{
    private Handshakes.HandshakeClassifier? _handshakes;

    public Handshakes.HandshakeClassifier Handshakes => _handshakes ??= new Handshakes.HandshakeClassifier(settings.Handshakes);
}
