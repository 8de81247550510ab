using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Flow;

namespace FlowWatch.Simulation;

/// <summary>One end of simulated traffic (a pod, a node's host, a health endpoint or an outside client) with its Hubble endpoint.</summary>
/// <remarks>
/// The protobuf <see cref="Endpoint"/> is built once and shared by every flow that names this end; treat it as
/// read-only. Ephemeral ports are handed out in sequence, as Linux does, so two connections of one client never
/// share a 5-tuple within minutes (a reused tuple would look like a retransmitted SYN).
/// </remarks>
public sealed class SimEndpoint
{
    private uint _nextPort;

    internal SimEndpoint(IpAddr ip, Endpoint proto, SimNode? node, SimPod? pod, uint firstPort)
    {
        Address = ip;
        Ip = ip.ToString();
        Proto = proto;
        Node = node;
        Pod = pod;
        _nextPort = firstPort;
    }

    public IpAddr Address { get; }
    public string Ip { get; }
    public uint Identity => Proto.Identity;
    /// <summary>The node whose Cilium sees this end's own interface; null for clients outside the cluster.</summary>
    public SimNode? Node { get; }
    public SimPod? Pod { get; }
    internal Endpoint Proto { get; }

    internal uint NextEphemeralPort()
    {
        var port = _nextPort;
        _nextPort = port >= 60999 ? 32768 : port + 1;
        return port;
    }

    public override string ToString() => Pod is { } p ? $"{p.Namespace}/{p.Name} ({Ip})" : $"{Ip} (identity {Identity})";

    internal static Endpoint Reserved(uint identity, string label) => new() { Identity = identity, Labels = { label } };
}
