namespace FlowWatch.Detectors.NodeConnectivity;

/// <summary>What one node's handshake counts say.</summary>
public enum NodeVerdict
{
    /// <summary>Too few handshakes touch the node to judge it.</summary>
    NoTraffic,
    /// <summary>Handshakes to and from its pods complete (or fail no more than elsewhere).</summary>
    Connected,
    /// <summary>Most handshakes to and from its pods fail, across workloads and peers, while the rest of the cluster is fine.</summary>
    Collapsed,
}

/// <summary>The counts a verdict is taken from: one node's window, and the rest of the cluster's.</summary>
/// <param name="FailingWorkloads">Local workloads failing at least the collapse ratio of their handshakes.</param>
/// <param name="ActiveWorkloads">Local workloads with at least two handshakes in the window.</param>
/// <param name="FailingPeers">Distinct peers of the node's failed handshakes in the window.</param>
/// <param name="PastTotal">The node's handshakes in its recent past before the window (<see cref="NodeConnectivityOptions.Past"/>).</param>
/// <param name="FailingPeerNodes">Distinct other nodes hosting peers of the node's failed handshakes in the window.</param>
public readonly record struct NodeCounts(
    long InTotal, long InFailed, long OutTotal, long OutFailed,
    int FailingWorkloads, int ActiveWorkloads, int FailingPeers,
    long ElsewhereTotal, long ElsewhereFailed,
    long PastTotal = 0, long PastFailed = 0, int FailingPeerNodes = 0)
{
    public long Total => InTotal + OutTotal;
    public long Failed => InFailed + OutFailed;
    public long Completed => Total - Failed;
    public double FailedShare => Total == 0 ? 0 : (double)Failed / Total;
    public double ElsewhereShare => ElsewhereTotal == 0 ? 0 : (double)ElsewhereFailed / ElsewhereTotal;
    public double PastShare => PastTotal == 0 ? 0 : (double)PastFailed / PastTotal;
}

/// <summary>Counts in, verdict out: the node-connectivity detector's decision, kept pure so it is tested on its own.</summary>
/// <remarks>
/// A node has collapsed when, over the window, most handshakes touching it fail; each direction that carries
/// traffic fails too (a node whose pods cannot be reached but can still reach out is a server problem, not the node);
/// the failures span several local workloads (at least half of those active) and several peers (one broken pod or
/// service is not a broken node); and the handshakes that do not touch the node mostly complete (when every node fails,
/// the problem is elsewhere). When the rest of the cluster carries too little traffic to compare with (every handshake
/// touches this node, as when it hosts every server), the node's own recent past stands in: it completed its handshakes
/// before the window, and its failures now have peers on at least two other nodes (with two nodes talking only to each
/// other, either could be the broken one, so neither is named). An open collapse holds until the failure share falls under the recovery ratio with
/// enough completed handshakes, so a node does not flap at the threshold.
/// </remarks>
public static class NodeConnectivityPolicy
{
    /// <summary>A direction with at least this many handshakes must fail as well.</summary>
    public const int MinPerDirection = 5;

    public static NodeVerdict Judge(in NodeCounts c, NodeConnectivityOptions o, bool open)
    {
        if (open)
        {
            if (c.Total == 0) return NodeVerdict.NoTraffic;
            var recovered = c.FailedShare < o.RecoveredRatio && c.Completed * 2 >= o.MinHandshakes;
            return recovered ? NodeVerdict.Connected : NodeVerdict.Collapsed;
        }
        if (c.Total < o.MinHandshakes) return NodeVerdict.NoTraffic;
        if (c.FailedShare < o.CollapseRatio) return NodeVerdict.Connected;
        if (!DirectionFails(c.InTotal, c.InFailed, o) || !DirectionFails(c.OutTotal, c.OutFailed, o)) return NodeVerdict.Connected;
        if (c.FailingWorkloads < o.MinWorkloads || c.FailingWorkloads * 2 < c.ActiveWorkloads) return NodeVerdict.Connected;
        if (c.FailingPeers < o.MinPeers) return NodeVerdict.Connected;
        if (c.ElsewhereTotal >= o.MinHandshakes)
            return c.ElsewhereShare <= o.HealthyElsewhereRatio ? NodeVerdict.Collapsed : NodeVerdict.Connected;
        var healthyPast = c.PastTotal >= o.MinHandshakes && c.PastShare <= o.HealthyElsewhereRatio;
        return healthyPast && c.FailingPeerNodes >= 2 ? NodeVerdict.Collapsed : NodeVerdict.Connected;
    }

    private static bool DirectionFails(long total, long failed, NodeConnectivityOptions o) =>
        total < MinPerDirection || (double)failed / total >= o.CollapseRatio;
}
