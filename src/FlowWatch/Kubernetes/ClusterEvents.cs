using FlowWatch.Flows;

namespace FlowWatch.Kubernetes;

/// <summary>A change in the cluster's state, as the detectors consume it beside the flows.</summary>
/// <remarks>
/// The Kubernetes watchers (or the simulator's fake cluster) publish these; a detector that needs
/// state folds them into its own bounded view. <see cref="Deleted"/> removes the item.
/// </remarks>
public abstract record ClusterEvent(bool Deleted);

/// <summary>A pod as the API server describes it.</summary>
public sealed record PodState(
    string Namespace, string Name, string Workload, string Node, IpAddr Ip, bool HostNetwork,
    string Phase, bool Ready, DateTimeOffset? StartTime, bool Deleted = false) : ClusterEvent(Deleted)
{
    public bool Running => Phase == "Running";
}

/// <summary>A CiliumEndpoint: Cilium manages the pod with this IP.</summary>
public sealed record CiliumEndpointState(string Namespace, string Name, IpAddr Ip, string Node, bool Deleted = false)
    : ClusterEvent(Deleted);

/// <summary>When the Cilium agent on a node became ready (null when it is not ready), and its pod's name ("" when unknown).</summary>
public sealed record CiliumAgentState(string Node, DateTimeOffset? ReadySince, bool Deleted = false, string Pod = "") : ClusterEvent(Deleted);

/// <summary>A pod IP's place on a node's ENIs (CiliumNode status, ENI IPAM).</summary>
public sealed record EniAddressState(string Node, IpAddr Ip, string Interface, bool Primary, bool Deleted = false)
    : ClusterEvent(Deleted);

/// <summary>A Service of type NodePort or LoadBalancer and its ports.</summary>
public sealed record ServiceState(string Namespace, string Name, string Type, IReadOnlyList<ServicePortState> Ports, bool Deleted = false)
    : ClusterEvent(Deleted);

/// <summary>One port of a service: the node port it is reached on and the pods' target port.</summary>
public sealed record ServicePortState(string Name, string Protocol, int Port, int NodePort, int TargetPort);

/// <summary>The backend pods of a service (from its EndpointSlices), with their readiness.</summary>
public sealed record ServiceBackendsState(string Namespace, string Service, IReadOnlyList<BackendState> Backends, bool Deleted = false)
    : ClusterEvent(Deleted);

/// <summary>One backend of a service.</summary>
public sealed record BackendState(string Pod, IpAddr Ip, string Node, bool Ready);
