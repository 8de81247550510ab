using System.Globalization;
using FlowWatch.Detectors.Registry;
using FlowWatch.Findings;
using FlowWatch.Flows;

namespace FlowWatch.Detectors.Asymmetric;

/// <summary>Registers the asymmetric-path detector: replies lost for one pod and one client range.</summary>
public static class AsymmetricPathDetectorDescriptor
{
    public static readonly DetectorDescriptor Descriptor = new(
        Name: "asymmetric-path",
        Kinds: [new(FindingKind.AsymmetricPath, "asymmetric_path", ["FlowWatchAsymmetricPath"], "FlowWatchAsymmetricPath")],
        Flags:
        [
            new("peer-range", "Client ranges to group handshakes by (peered VPCs, the VPC itself); others group by /24. Repeatable or comma-separated.",
                "CIDR", FlagValueKind.CidrList, _ => null,
                (s, v) => s with { Asymmetric = s.Asymmetric with { PeerRanges = (IReadOnlyList<IpPrefix>)v } }),
            new("asym-min-handshakes", "Handshakes from one range to one pod before an asymmetric-path verdict.", "N", FlagValueKind.Int,
                s => s.Asymmetric.MinHandshakes.ToString(), (s, v) => s with { Asymmetric = s.Asymmetric with { MinHandshakes = (int)v } }, Min: 1),
            new("asym-ratio", "Share of those handshakes that must lose their reply to raise the finding.", "R", FlagValueKind.Number,
                s => s.Asymmetric.ReplyLostRatio.ToString(CultureInfo.InvariantCulture),
                (s, v) => s with { Asymmetric = s.Asymmetric with { ReplyLostRatio = (double)v } }, Min: 0.01, Max: 1),
        ],
        Metrics: ["flowwatch_tcp_handshakes_total", "flowwatch_tcp_handshake_evictions_total", "flowwatch_asymmetric_paths",
            "flowwatch_asymmetric_group_evictions_total"],
        QuietPeriod: s => s.Asymmetric.QuietPeriod,
        WithQuietPeriod: (s, q) => s with { Asymmetric = s.Asymmetric with { QuietPeriod = q } },
        Validate: s => s.Asymmetric.Validate(),
        Create: (s, shared) => new AsymmetricPathDetector(s.Asymmetric, shared.Handshakes));
}
