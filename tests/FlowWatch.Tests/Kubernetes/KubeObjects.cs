using FlowWatch.Kubernetes.Cilium;
using k8s.Models;

namespace FlowWatch.Tests.Kube;

/// <summary>API objects for the fake API server, built the way the API server returns them.</summary>
internal static class KubeObjects
{
    public static readonly DateTime T0 = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    public static V1Pod Pod(string ns, string name, string node, string ip, DateTime started, string phase = "Running",
        string? owner = null, Dictionary<string, string>? labels = null, DateTime? readySince = null, bool ready = true, bool hostNetwork = false) => new()
    {
        ApiVersion = "v1", Kind = "Pod",
        Metadata = new V1ObjectMeta
        {
            NamespaceProperty = ns, Name = name, Uid = $"uid-{ns}-{name}", Labels = labels,
            OwnerReferences = owner is null ? null : [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = owner, Uid = $"uid-{owner}", Controller = true }],
        },
        Spec = new V1PodSpec { NodeName = node, HostNetwork = hostNetwork, Containers = [new V1Container { Name = "main", Image = "app" }] },
        Status = new V1PodStatus
        {
            Phase = phase, PodIP = ip, StartTime = started,
            Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False", LastTransitionTime = readySince ?? started }],
        },
    };

    public static V1Pod Agent(string node, string ip, DateTime readySince) =>
        Pod("kube-system", $"cilium-{node}", node, ip, readySince.AddSeconds(-20), labels: new() { ["k8s-app"] = "cilium" }, readySince: readySince, hostNetwork: true);

    public static V2CiliumEndpoint Endpoint(string ns, string name, string ip, string nodeIp) => new()
    {
        Metadata = new V1ObjectMeta { NamespaceProperty = ns, Name = name },
        Status = new CiliumEndpointStatus { Networking = new CiliumEndpointNetworking { Addressing = [new CiliumAddressPair { Ipv4 = ip }], Node = nodeIp } },
    };

    public static V1Node Node(string name, string ip) => new()
    {
        ApiVersion = "v1", Kind = "Node",
        Metadata = new V1ObjectMeta { Name = name },
        Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Address = ip, Type = "InternalIP" }] },
    };

    public static V2CiliumNode CiliumNode(string name, params (string Id, int Number, string[] Addresses)[] enis) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Status = new CiliumNodeStatus
        {
            Eni = new CiliumEniStatus { Enis = enis.ToDictionary(e => e.Id, e => new CiliumEni { Id = e.Id, Number = e.Number, Addresses = [.. e.Addresses] }) },
        },
    };

    public static V1Service NodePortService(string ns, string name, int port, int nodePort, int targetPort) => new()
    {
        ApiVersion = "v1", Kind = "Service",
        Metadata = new V1ObjectMeta { NamespaceProperty = ns, Name = name },
        Spec = new V1ServiceSpec { Type = "NodePort", Ports = [new V1ServicePort { Port = port, Name = "http", NodePort = nodePort, Protocol = "TCP", TargetPort = targetPort }] },
    };

    public static V1EndpointSlice Slice(string ns, string service, string name, params (string Pod, string Ip, string Node, bool Ready)[] backends) => new()
    {
        ApiVersion = "discovery.k8s.io/v1", Kind = "EndpointSlice", AddressType = "IPv4",
        Metadata = new V1ObjectMeta { NamespaceProperty = ns, Name = name, Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = service } },
        Endpoints = backends.Select(b => new V1Endpoint
        {
            Addresses = [b.Ip], Conditions = new V1EndpointConditions { Ready = b.Ready }, NodeName = b.Node,
            TargetRef = new V1ObjectReference { Kind = "Pod", Name = b.Pod, NamespaceProperty = ns },
        }).ToList(),
    };
}
