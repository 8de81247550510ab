using System.Globalization;
using FlowWatch.Detectors.Registry;
using FlowWatch.Findings;

namespace FlowWatch.Detectors.NodeConnectivity;

/// <summary>Registers the node-connectivity detector: a node whose pods stopped completing handshakes while other nodes are fine.</summary>
public static class NodeConnectivityDetectorDescriptor
{
    public static readonly DetectorDescriptor Descriptor = new(
        Name: "node-connectivity",
        Kinds: [new(FindingKind.NodeConnectivity, "node_connectivity", ["FlowWatchNodeConnectivityCollapse"], "FlowWatchNodeConnectivity")],
        Flags:
        [
            new("node-min-handshakes", "Handshakes to and from one node's pods in the window before a node-connectivity verdict.", "N",
                FlagValueKind.Int, s => s.Get<NodeConnectivityOptions>().MinHandshakes.ToString(CultureInfo.InvariantCulture),
                (s, v) => s.With(s.Get<NodeConnectivityOptions>() with { MinHandshakes = (int)v }), Min: 1),
            new("node-collapse-ratio", "Share of those handshakes that must fail (across workloads and peers) to call the node collapsed.", "R",
                FlagValueKind.Number, s => s.Get<NodeConnectivityOptions>().CollapseRatio.ToString(CultureInfo.InvariantCulture),
                (s, v) => s.With(s.Get<NodeConnectivityOptions>() with { CollapseRatio = (double)v }), Min: 0.05, Max: 1),
        ],
        Metrics: ["flowwatch_node_connectivity", "flowwatch_node_handshakes_total", "flowwatch_node_connectivity_evictions_total"],
        QuietPeriod: s => s.Get<NodeConnectivityOptions>().QuietPeriod,
        WithQuietPeriod: (s, q) => s.With(s.Get<NodeConnectivityOptions>() with { QuietPeriod = q }),
        Validate: s => s.Get<NodeConnectivityOptions>().Validate(),
        Create: (s, shared) => new NodeConnectivityDetector(s.Get<NodeConnectivityOptions>(), shared.Handshakes));
}
