using FlowWatch.Flows;

namespace FlowWatch.Detectors.Dns;

/// <summary>Who asked what: a client (IP and pod name) and a query name; pairs requests with answers.</summary>
internal readonly record struct DnsKey(IpAddr Client, string Pod, string Query);

/// <summary>A workload as it appears in labels and finding subjects (never empty strings).</summary>
internal readonly record struct WorkloadKey(string Namespace, string Workload)
{
    public static WorkloadKey Of(FlowEndpoint e)
    {
        var ns = e.Namespace.Length != 0 ? e.Namespace : "unknown";
        if (e.Workload.Length != 0) return new WorkloadKey(ns, e.Workload);
        if (e.IsPod) return new WorkloadKey(ns, "unknown");
        return new WorkloadKey(ns, e.Identity switch
        {
            ReservedIdentity.Host => "host",
            ReservedIdentity.World or ReservedIdentity.WorldIpv4 or ReservedIdentity.WorldIpv6 => "world",
            ReservedIdentity.Unmanaged => "unmanaged",
            ReservedIdentity.RemoteNode => "remote-node",
            ReservedIdentity.Health => "health",
            ReservedIdentity.Ingress => "ingress",
            _ => "unknown",
        });
    }

    public override string ToString() => $"{Namespace}/{Workload}";
}
