using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace FlowWatch.Kubernetes.Cilium;

/// <summary>The part of a <c>ciliumnodes.cilium.io/v2</c> object FlowWatch reads: ENI status (which IP sits on which interface).</summary>
/// <remarks>Schema: cilium/cilium pkg/aws/eni/types (ENIStatus.enis, ENI.addresses, ENI.number; number 0 is the primary ENI).</remarks>
public sealed class V2CiliumNode : IKubernetesObject<V1ObjectMeta>
{
    public const string Group = "cilium.io", Version = "v2", Plural = "ciliumnodes";

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "cilium.io/v2";
    [JsonPropertyName("kind")] public string Kind { get; set; } = "CiliumNode";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("status")] public CiliumNodeStatus? Status { get; set; }
}

/// <summary>CiliumNode status; only the ENI part is read.</summary>
public sealed class CiliumNodeStatus
{
    [JsonPropertyName("eni")] public CiliumEniStatus? Eni { get; set; }
}

/// <summary>The node's ENIs, by ENI id.</summary>
public sealed class CiliumEniStatus
{
    [JsonPropertyName("enis")] public Dictionary<string, CiliumEni>? Enis { get; set; }
}

/// <summary>One ENI: its id, primary IP, interface index and every address on it.</summary>
public sealed class CiliumEni
{
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("ip")] public string? Ip { get; set; }
    /// <summary>Interface index on the instance; 0 is the primary ENI (eth0).</summary>
    [JsonPropertyName("number")] public int Number { get; set; }
    [JsonPropertyName("addresses")] public List<string>? Addresses { get; set; }
}

/// <summary>A list of CiliumNodes as the API returns it.</summary>
public sealed class V2CiliumNodeList : IKubernetesObject<V1ListMeta>, IItems<V2CiliumNode>
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "cilium.io/v2";
    [JsonPropertyName("kind")] public string Kind { get; set; } = "CiliumNodeList";
    [JsonPropertyName("metadata")] public V1ListMeta Metadata { get; set; } = new();
    [JsonPropertyName("items")] public IList<V2CiliumNode> Items { get; set; } = [];
}
