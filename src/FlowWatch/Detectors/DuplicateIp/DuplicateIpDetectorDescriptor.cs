using FlowWatch.Detectors.Registry;
using FlowWatch.Findings;

namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>Registers the duplicate-IP detector: one IP claimed by two pods, and pods Cilium does not manage.</summary>
public static class DuplicateIpDetectorDescriptor
{
    public static readonly DetectorDescriptor Descriptor = new(
        Name: "duplicate-ip",
        Kinds:
        [
            new(FindingKind.DuplicateIp, "duplicate_ip", ["FlowWatchDuplicatePodIp"], "FlowWatchDuplicateIP"),
            new(FindingKind.UnmanagedPod, "unmanaged_pod", ["FlowWatchUnmanagedPods"], "FlowWatchUnmanagedPod"),
        ],
        Flags: [],
        Metrics: ["flowwatch_duplicate_ips", "flowwatch_unmanaged_pods", "flowwatch_ip_map_evicted_total"],
        QuietPeriod: s => s.DuplicateIp.QuietPeriod,
        WithQuietPeriod: (s, q) => s with { DuplicateIp = s.DuplicateIp with { QuietPeriod = q } },
        Validate: s => s.DuplicateIp.Validate(),
        Create: (s, _) => new DuplicateIpDetector(s.DuplicateIp));
}
