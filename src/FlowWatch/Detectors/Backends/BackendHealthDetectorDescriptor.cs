using System.Globalization;
using FlowWatch.Detectors.Registry;
using FlowWatch.Findings;

namespace FlowWatch.Detectors.Backends;

/// <summary>Registers the backend-health detector: per-backend-pod health behind NodePort and LoadBalancer services.</summary>
public static class BackendHealthDetectorDescriptor
{
    public static readonly DetectorDescriptor Descriptor = new(
        Name: "backend-health",
        Kinds:
        [
            new(FindingKind.BackendUnhealthy, "backend_unhealthy",
                ["FlowWatchNodePortBackendUnhealthy", "FlowWatchNodePortServiceNoHealthyBackend", "FlowWatchNodePortBackendDegraded"], "FlowWatchBackendUnhealthy"),
        ],
        Flags:
        [
            new("backend-min-samples", "Handshakes or HTTP answers a backend needs in the window before it can be called unhealthy.", "N",
                FlagValueKind.Int, s => s.Backends.MinSamples.ToString(), (s, v) => s with { Backends = s.Backends with { MinSamples = (int)v } }, Min: 1),
            new("backend-unhealthy-ratio", "Failure share at which a backend is unhealthy.", "R", FlagValueKind.Number,
                s => s.Backends.UnhealthyRatio.ToString(CultureInfo.InvariantCulture),
                (s, v) => s with { Backends = s.Backends with { UnhealthyRatio = (double)v } }, Max: 1, MinFrom: s => s.Backends.DegradedRatio),
        ],
        Metrics: ["flowwatch_backend_health", "flowwatch_backend_handshakes_total", "flowwatch_backend_evictions_total"],
        QuietPeriod: s => s.Backends.QuietPeriod,
        WithQuietPeriod: (s, q) => s with { Backends = s.Backends with { QuietPeriod = q } },
        Validate: s => s.Backends.Validate(),
        Create: (s, shared) => new BackendHealthDetector(s.Backends, shared.Handshakes));
}
