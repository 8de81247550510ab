namespace FlowWatch.Simulation;

/// <summary>The failure modes the simulator can switch on, as a bit set.</summary>
[Flags]
public enum Scenario
{
    None = 0,
    /// <summary>FQDN-policy denials (shop/checkout), datapath drops of port 53 (shop/cart), unanswered lookups (web/frontend).</summary>
    DnsDrops = 1,
    /// <summary>An unmanaged pod (shop/legacy-batch) holding the IP of a managed one (shop/inventory) on sim-node-3.</summary>
    DuplicateIp = 2,
    /// <summary>Replies lost for peered-VPC clients of the ledger pod on a secondary ENI.</summary>
    Asymmetric = 4,
    /// <summary>Backend b of the web/storefront NodePort service refuses handshakes and answers 503.</summary>
    NodePortBackend = 8,
    /// <summary>From <see cref="NodeCollapseTiming.After"/>, every pod on <see cref="SimulatedCluster.CollapsedNode"/> loses
    /// connectivity (kube-proxy's iptables rules ahead of Cilium's) until the agent restarts, if it is set to.</summary>
    NodeCollapse = 16,
    All = DnsDrops | DuplicateIp | Asymmetric | NodePortBackend | NodeCollapse,
}
