using FlowWatch.Flows;

namespace FlowWatch.Simulation;

/// <summary>A node of the simulated cluster: sim-node-N, node IP 10.0.0.(10+N), pod CIDR 10.1.N.0/24.</summary>
public sealed record SimNode(int Number, string Name, IpAddr Ip, IpPrefix PodCidr)
{
    public string IpText { get; } = Ip.ToString();
}
