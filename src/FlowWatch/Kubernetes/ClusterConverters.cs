using FlowWatch.Flows;
using FlowWatch.Kubernetes.Cilium;
using k8s.Models;

namespace FlowWatch.Kubernetes;

/// <summary>Turns API objects into the <see cref="ClusterEvent"/> records the detectors read; the only place that knows the API's shapes.</summary>
public static class ClusterConverters
{
    public const string AgentNamespace = "kube-system";
    public const string AgentLabel = "k8s-app";
    public const string AgentLabelValue = "cilium";

    public static PodState Pod(V1Pod pod, bool deleted = false)
    {
        var meta = pod.Metadata;
        var status = pod.Status;
        return new PodState(
            meta?.NamespaceProperty ?? "", meta?.Name ?? "", Workload(pod), pod.Spec?.NodeName ?? "",
            ParseIp(status?.PodIP), pod.Spec?.HostNetwork == true, status?.Phase ?? "", IsReady(pod),
            status?.StartTime is { } s ? new DateTimeOffset(DateTime.SpecifyKind(s, DateTimeKind.Utc)) : null, deleted);
    }

    /// <summary>True for the Cilium agent's own pods (kube-system, <c>k8s-app=cilium</c>).</summary>
    public static bool IsCiliumAgent(V1Pod pod) =>
        pod.Metadata?.NamespaceProperty == AgentNamespace &&
        pod.Metadata.Labels is { } labels && labels.TryGetValue(AgentLabel, out var v) && v == AgentLabelValue;

    /// <summary>When the agent pod on a node became Ready (its Ready condition's lastTransitionTime), null while it is not.</summary>
    public static CiliumAgentState Agent(V1Pod pod, bool deleted = false)
    {
        var ready = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        DateTimeOffset? since = !deleted && ready?.Status == "True"
            ? ready.LastTransitionTime is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : DateTimeOffset.UnixEpoch
            : null;
        return new CiliumAgentState(pod.Spec?.NodeName ?? "", since, deleted, pod.Metadata?.Name ?? "");
    }

    public static bool IsReady(V1Pod pod) =>
        pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    /// <summary>The owning workload: a ReplicaSet's Deployment, else the controller's name, else the pod name less its suffix.</summary>
    public static string Workload(V1Pod pod)
    {
        var owner = pod.Metadata?.OwnerReferences?.FirstOrDefault(o => o.Controller == true) ?? pod.Metadata?.OwnerReferences?.FirstOrDefault();
        if (owner is null) return Workloads.FromPodName(pod.Metadata?.Name ?? "");
        if (owner.Kind == "ReplicaSet")
        {
            var dash = owner.Name.LastIndexOf('-');
            return dash > 0 ? owner.Name[..dash] : owner.Name;
        }
        return owner.Name;
    }

    public static ServiceState Service(V1Service svc, bool deleted = false)
    {
        var ports = new List<ServicePortState>();
        foreach (var p in svc.Spec?.Ports ?? [])
        {
            // A named target port ("targetPort: http") is a number only per pod; the EndpointSlices carry it (0 until the view resolves it).
            var target = p.TargetPort is not { } t ? p.Port : int.TryParse(t.Value, out var n) ? n : 0;
            ports.Add(new ServicePortState(p.Name ?? "", p.Protocol ?? "TCP", p.Port, p.NodePort ?? 0, target));
        }
        return new ServiceState(svc.Metadata?.NamespaceProperty ?? "", svc.Metadata?.Name ?? "", svc.Spec?.Type ?? "ClusterIP", ports, deleted);
    }

    /// <summary>The service an EndpointSlice belongs to (label kubernetes.io/service-name); empty when none.</summary>
    public static string SliceService(V1EndpointSlice slice) =>
        slice.Metadata?.Labels is { } l && l.TryGetValue("kubernetes.io/service-name", out var s) ? s : "";

    /// <summary>The backends of one slice; the view merges a service's slices into one <see cref="ServiceBackendsState"/>.</summary>
    public static List<BackendState> SliceBackends(V1EndpointSlice slice)
    {
        var result = new List<BackendState>();
        foreach (var e in slice.Endpoints ?? [])
        {
            var pod = e.TargetRef?.Kind == "Pod" ? e.TargetRef.Name ?? "" : "";
            var ready = e.Conditions?.Ready ?? true;
            foreach (var a in e.Addresses ?? [])
                if (IpAddr.TryParse(a, out var ip)) result.Add(new BackendState(pod, ip, e.NodeName ?? "", ready));
        }
        return result;
    }

    /// <summary>The slice's ports by name: the numbers a service's named target ports resolve to.</summary>
    public static Dictionary<string, int> SlicePorts(V1EndpointSlice slice)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in slice.Ports ?? [])
            if (p.Port is { } port) result.TryAdd(p.Name ?? "", port);
        return result;
    }

    /// <summary>The IPs a CiliumEndpoint manages, one state each.</summary>
    public static List<CiliumEndpointState> Endpoint(V2CiliumEndpoint cep, string node, bool deleted = false)
    {
        var result = new List<CiliumEndpointState>();
        foreach (var pair in cep.Status?.Networking?.Addressing ?? [])
            foreach (var text in new[] { pair.Ipv4, pair.Ipv6 })
                if (IpAddr.TryParse(text, out var ip))
                    result.Add(new CiliumEndpointState(cep.Metadata?.NamespaceProperty ?? "", cep.Metadata?.Name ?? "", ip, node, deleted));
        return result;
    }

    /// <summary>Every address on every ENI of a CiliumNode, with whether its ENI is the primary one.</summary>
    public static List<EniAddressState> EniAddresses(V2CiliumNode node)
    {
        var result = new List<EniAddressState>();
        var name = node.Metadata?.Name ?? "";
        foreach (var (id, eni) in node.Status?.Eni?.Enis ?? [])
            foreach (var a in eni.Addresses ?? [])
                if (IpAddr.TryParse(a, out var ip))
                    result.Add(new EniAddressState(name, ip, eni.Id ?? id, eni.Number == 0));
        return result;
    }

    public static IpAddr ParseIp(string? text) => IpAddr.TryParse(text, out var ip) ? ip : IpAddr.None;
}
