using FlowWatch.Flows;

namespace FlowWatch.Kubernetes;

/// <summary>Names the pod behind an IP-only flow endpoint from the cluster view, where flows enter the pipeline.</summary>
/// <remarks>
/// Hot path: a flow whose endpoints already name pods (the common case with Hubble) costs two field checks; an
/// IP-only endpoint costs one lock-free dictionary read. Reserved identities (host, world, unmanaged, ...) are
/// left alone: naming a pod for them would hide what the duplicate-IP detector looks for, and so are IPs two
/// pods share (the view does not name those).
/// </remarks>
public sealed class FlowEnricher(ClusterView view)
{
    private long _enriched;

    /// <summary>Endpoints named from the view so far.</summary>
    public long Enriched => Interlocked.Read(ref _enriched);

    public FlowRecord Enrich(FlowRecord flow)
    {
        var src = Lookup(flow.Source, flow.SourceIp);
        var dst = Lookup(flow.Destination, flow.DestinationIp);
        if (src is null && dst is null) return flow;
        return Copy(flow, src ?? flow.Source, dst ?? flow.Destination);
    }

    private FlowEndpoint? Lookup(FlowEndpoint e, IpAddr ip)
    {
        if (e.IsPod || ip.IsNone || (e.Identity is > 0 and < 256)) return null;
        if (!view.TryGetPodByIp(ip, out var pod)) return null;
        Interlocked.Increment(ref _enriched);
        return new FlowEndpoint(e.Identity, pod.Namespace, pod.Name, pod.Workload, e.WorkloadKind) { Labels = e.Labels };
    }

    private static FlowRecord Copy(FlowRecord f, FlowEndpoint source, FlowEndpoint destination) => new()
    {
        Origin = f.Origin, TimeNanos = f.TimeNanos, Uuid = f.Uuid, NodeName = f.NodeName, Verdict = f.Verdict, DropReason = f.DropReason,
        Kind = f.Kind, EventType = f.EventType, EventSubType = f.EventSubType, SourceIp = f.SourceIp,
        DestinationIp = f.DestinationIp, Protocol = f.Protocol, SourcePort = f.SourcePort, DestinationPort = f.DestinationPort,
        TcpFlags = f.TcpFlags, IcmpType = f.IcmpType, IcmpCode = f.IcmpCode, Source = source, Destination = destination,
        SourceService = f.SourceService, DestinationService = f.DestinationService, Reply = f.Reply, Direction = f.Direction,
        ObservationPoint = f.ObservationPoint, L7 = f.L7,
    };
}
