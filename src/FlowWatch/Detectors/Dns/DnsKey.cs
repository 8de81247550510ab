using FlowWatch.Flows;

namespace FlowWatch.Detectors.Dns;

/// <summary>Who asked what: a client (IP, pod name and source port), a query name and its type; pairs requests with answers.</summary>
/// <remarks>
/// Hubble's DNS record has no DNS message id, so the client's source port (L7 DNS flows carry the L4 tuple; the answer
/// goes back to it) and the query type stand in for it: two concurrent lookups of one name from one pod use two sockets,
/// and glibc's parallel A and AAAA from one socket differ in type, so each answer meets its own request. Where a record
/// carries neither (port 0, no type), requests and answers still pair oldest first.
/// </remarks>
internal readonly record struct DnsKey(IpAddr Client, string Pod, string Query, ushort ClientPort = 0, string QType = "")
{
    /// <summary>The key of a request record: the client is the source.</summary>
    public static DnsKey OfRequest(FlowRecord f, DnsRecord dns) => new(f.SourceIp, f.Source.Pod, dns.Query, f.SourcePort, dns.QType);

    /// <summary>The key of an answer record: the client is the destination.</summary>
    public static DnsKey OfAnswer(FlowRecord f, DnsRecord dns) => new(f.DestinationIp, f.Destination.Pod, dns.Query, f.DestinationPort, dns.QType);
}

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
