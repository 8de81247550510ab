using FlowWatch.Detectors.Common;
using FlowWatch.Detectors.Handshakes;
using Prometheus;

namespace FlowWatch.Detectors.NodeConnectivity;

/// <summary>Whether a handshake counts against the node as traffic to its pods or from them.</summary>
internal enum NodeDirection { In = 0, Out = 1 }

/// <summary>One node as the node-connectivity detector tracks it: rolling handshake counts by direction, per local
/// workload, and the peers its failed handshakes had.</summary>
internal sealed class NodeState
{
    // Rolling slots: completed and failed, to the node's pods (in) and from them (out).
    public const int Slots = 4;
    public static int Slot(NodeDirection d, bool failed) => (int)d * 2 + (failed ? 1 : 0);

    public NodeState(string name, NodeConnectivityOptions options)
    {
        Name = name;
        Counts = new RollingCounters(options.Window, options.Bucket, Slots);
        Workloads = new BoundedLru<(string Ns, string Workload), RollingCounters>(options.MaxWorkloadsPerNode);
        FailingPeers = new BoundedLru<string, DateTimeOffset>(64, comparer: StringComparer.Ordinal);
        FailingPeerNodes = new BoundedLru<string, DateTimeOffset>(8, comparer: StringComparer.Ordinal);
        Past = new RollingCounters(options.Past, options.PastBucket, 2);
    }

    public string Name { get; }
    public RollingCounters Counts { get; }
    /// <summary>Per local workload: slot 0 completed, slot 1 failed.</summary>
    public BoundedLru<(string Ns, string Workload), RollingCounters> Workloads { get; }
    /// <summary>Peer (ns/pod, or address) of each recent failed handshake → when it failed.</summary>
    public BoundedLru<string, DateTimeOffset> FailingPeers { get; }
    /// <summary>Node of the peer of each recent failed handshake → when it failed (a few are enough to tell one from several).</summary>
    public BoundedLru<string, DateTimeOffset> FailingPeerNodes { get; }
    /// <summary>The node's handshakes over <see cref="NodeConnectivityOptions.Past"/>: slot 0 completed, slot 1 failed.</summary>
    public RollingCounters Past { get; }
    public DateTimeOffset LastSeen;
    /// <summary>A finding for the node is open.</summary>
    public bool Open;
    public Gauge.Child? Gauge;
    public Counter.Child[]? Handshakes;

    public long Total(NodeDirection d) => Counts.Total(Slot(d, false)) + Counts.Total(Slot(d, true));
    public long Failed(NodeDirection d) => Counts.Total(Slot(d, true));
}

/// <summary>The Cilium agent on a node, as cluster state describes it.</summary>
internal readonly record struct AgentInfo(string Pod, DateTimeOffset? ReadySince);
