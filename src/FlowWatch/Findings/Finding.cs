using FlowWatch.Flows;

namespace FlowWatch.Findings;

/// <summary>The problems FlowWatch reports. Names, alerts and event reasons of each are in its detector's descriptor
/// (<see cref="Detectors.Registry.DetectorRegistry"/>).</summary>
public enum FindingKind { DnsDrops, DuplicateIp, UnmanagedPod, AsymmetricPath, BackendUnhealthy, NodeConnectivity }

/// <summary>How urgent a finding is; becomes the alert's severity.</summary>
public enum Severity { Info, Warning, Critical }

/// <summary>Open while the problem shows in the flows; resolved after a quiet period.</summary>
public enum FindingState { Open, Resolved }

/// <summary>What a finding is about. Fields that do not apply stay empty.</summary>
public sealed record FindingSubject(
    string Namespace = "", string Workload = "", string Pod = "", string Service = "",
    string Ip = "", string Node = "", string PeerRange = "", string OtherPod = "");

/// <summary>One problem FlowWatch found: what, where, how sure, since when, and what to check.</summary>
/// <param name="Id">Stable for the life of the problem: kind plus the key it is tracked by.</param>
/// <param name="Evidence">Counts behind the finding (e.g. "policy_denied": 42).</param>
/// <param name="Summary">One line for a human: what is wrong and what to check first.</param>
/// <param name="Details">Extra lines for the API and reports (top queried names, both pods, ...).</param>
public sealed record Finding(
    string Id,
    FindingKind Kind,
    Severity Severity,
    FindingState State,
    FindingSubject Subject,
    IReadOnlyDictionary<string, long> Evidence,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    string Summary,
    IReadOnlyList<string> Details)
{
    /// <summary>The cluster the finding is about (the runtime's <c>--cluster</c>); stamped by <see cref="FindingBook"/>, "" until then.</summary>
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Cluster { get; init; } = "";

    public static string KindName(FindingKind kind) => Detectors.Registry.DetectorRegistry.Kind(kind)?.ApiName ?? kind.ToString();

    public static bool TryParseKind(string text, out FindingKind kind)
    {
        foreach (var k in Enum.GetValues<FindingKind>())
            if (string.Equals(KindName(k), text, StringComparison.OrdinalIgnoreCase) ||
                string.Equals(k.ToString(), text, StringComparison.OrdinalIgnoreCase))
            { kind = k; return true; }
        kind = default;
        return false;
    }
}
