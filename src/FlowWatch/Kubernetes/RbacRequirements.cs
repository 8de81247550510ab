namespace FlowWatch.Kubernetes;

/// <summary>One RBAC rule FlowWatch needs: an API group, a resource and the verbs the code calls on it.</summary>
public sealed record RbacRule(string ApiGroup, string Resource, IReadOnlyList<string> Verbs);

/// <summary>Every Kubernetes API call FlowWatch makes, as RBAC rules: the watchers, events and remediation use these, and the manifest test checks deploy/ against them.</summary>
public static class RbacRequirements
{
    private static readonly string[] ListWatch = ["list", "watch"];

    public static readonly RbacRule Pods = new("", "pods", ListWatch);
    /// <summary>Only with <c>--remediate=evict</c>: the pod is re-read just before it is evicted.</summary>
    public static readonly RbacRule PodsGet = new("", "pods", ["get"]);
    public static readonly RbacRule Services = new("", "services", ListWatch);
    public static readonly RbacRule Nodes = new("", "nodes", ListWatch);
    public static readonly RbacRule EndpointSlices = new("discovery.k8s.io", "endpointslices", ListWatch);
    public static readonly RbacRule CiliumEndpoints = new("cilium.io", "ciliumendpoints", ListWatch);
    public static readonly RbacRule CiliumNodes = new("cilium.io", "ciliumnodes", ListWatch);
    /// <summary>create a finding's Event; patch its count when the same finding repeats.</summary>
    public static readonly RbacRule Events = new("", "events", ["create", "patch"]);
    /// <summary>With <c>--api-token-review</c>: ask the API server whether a caller's bearer token is genuine.</summary>
    public static readonly RbacRule TokenReviews = new("authentication.k8s.io", "tokenreviews", ["create"]);
    /// <summary>Only with <c>--remediate=evict</c> (deploy/components/remediation).</summary>
    public static readonly RbacRule Evictions = new("", "pods/eviction", ["create"]);

    /// <summary>Only with remediation on: leader election among replicas on a coordination.k8s.io/v1 Lease (read, create once, renew).</summary>
    public static readonly RbacRule Leases = new("coordination.k8s.io", "leases", ["get", "create", "update"]);

    /// <summary>What the base Deployment's ClusterRole grants .</summary>
    public static readonly IReadOnlyList<RbacRule> Base = [Pods, Services, Nodes, EndpointSlices, CiliumEndpoints, CiliumNodes, Events, TokenReviews];

    /// <summary>What the remediation variant adds.</summary>
    public static readonly IReadOnlyList<RbacRule> Remediation = [PodsGet, Evictions, Leases];
}
