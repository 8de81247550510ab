using FlowWatch.Detectors.Handshakes;
using FlowWatch.Flows;

namespace FlowWatch.Detectors.Asymmetric;

/// <summary>One server pod and one client peer range: the unit an asymmetric-path verdict is about.</summary>
internal readonly record struct AsymmetricGroupKey(string Namespace, string Pod, IpPrefix Range)
{
    public string FindingId => $"asymmetric_path/{Namespace}/{Pod}/{Range}";
}

/// <summary>The rolling handshake outcomes of one (pod, peer range) group and what the flows said about its server.</summary>
internal sealed class AsymmetricGroup(AsymmetricGroupKey key, RollingCounters counts)
{
    public AsymmetricGroupKey Key { get; } = key;
    /// <summary>One slot per <see cref="HandshakeOutcome"/>.</summary>
    public RollingCounters Counts { get; } = counts;
    public string Workload = "";
    public IpAddr ServerIp;
    public ushort Port;
    public string Node = "";
    public DateTimeOffset LastSeen;
    public long SynRetransmissions;

    public long Total(HandshakeOutcome o) => Counts.Total((int)o);
}
