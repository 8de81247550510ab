using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace FlowWatch.Kubernetes.Cilium;

/// <summary>The part of a <c>ciliumendpoints.cilium.io/v2</c> object FlowWatch reads: which pod IPs Cilium manages.</summary>
public sealed class V2CiliumEndpoint : IKubernetesObject<V1ObjectMeta>
{
    public const string Group = "cilium.io", Version = "v2", Plural = "ciliumendpoints";

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "cilium.io/v2";
    [JsonPropertyName("kind")] public string Kind { get; set; } = "CiliumEndpoint";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("status")] public CiliumEndpointStatus? Status { get; set; }
}

/// <summary>CiliumEndpoint status: identity and networking.</summary>
public sealed class CiliumEndpointStatus
{
    [JsonPropertyName("networking")] public CiliumEndpointNetworking? Networking { get; set; }
}

/// <summary>The endpoint's addresses and the IP of the node it runs on.</summary>
public sealed class CiliumEndpointNetworking
{
    [JsonPropertyName("addressing")] public List<CiliumAddressPair>? Addressing { get; set; }
    /// <summary>The node's IP (not its name).</summary>
    [JsonPropertyName("node")] public string? Node { get; set; }
}

/// <summary>One IPv4/IPv6 pair of an endpoint.</summary>
public sealed class CiliumAddressPair
{
    [JsonPropertyName("ipv4")] public string? Ipv4 { get; set; }
    [JsonPropertyName("ipv6")] public string? Ipv6 { get; set; }
}

/// <summary>A list of CiliumEndpoints as the API returns it.</summary>
public sealed class V2CiliumEndpointList : IKubernetesObject<V1ListMeta>, IItems<V2CiliumEndpoint>
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "cilium.io/v2";
    [JsonPropertyName("kind")] public string Kind { get; set; } = "CiliumEndpointList";
    [JsonPropertyName("metadata")] public V1ListMeta Metadata { get; set; } = new();
    [JsonPropertyName("items")] public IList<V2CiliumEndpoint> Items { get; set; } = [];
}
