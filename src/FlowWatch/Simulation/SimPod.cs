using FlowWatch.Flows;

namespace FlowWatch.Simulation;

/// <summary>A pod of the simulated cluster: where it runs, its IP, identity and, for ENI IPAM, the interface holding its IP.</summary>
public sealed class SimPod
{
    internal SimPod(SimWorkload workload, string name, SimNode node, IpAddr ip, uint endpointId, bool managed,
        string eniInterface, TimeSpan age)
    {
        Workload = workload;
        Name = name;
        Node = node;
        Ip = ip;
        EndpointId = endpointId;
        Managed = managed;
        EniInterface = eniInterface;
        Age = age;
    }

    public SimWorkload Workload { get; }
    public string Namespace => Workload.Namespace;
    public string Name { get; }
    public SimNode Node { get; }
    public IpAddr Ip { get; }
    /// <summary>Cilium endpoint ID on its node; 0 for a pod Cilium does not manage.</summary>
    public uint EndpointId { get; }
    /// <summary>False for a pod that got its IP from another CNI before the Cilium agent was up.</summary>
    public bool Managed { get; }
    /// <summary>"eth0" (primary ENI) or a secondary ENI such as "eth1".</summary>
    public string EniInterface { get; }
    public bool OnPrimaryEni => EniInterface == "eth0";
    /// <summary>How long before the simulation's start the pod started.</summary>
    public TimeSpan Age { get; }
    /// <summary>The pod as Hubble names it in flows (null only before the cluster finishes building).</summary>
    public SimEndpoint Endpoint { get; internal set; } = null!;

    public override string ToString() => $"{Namespace}/{Name}";
}
