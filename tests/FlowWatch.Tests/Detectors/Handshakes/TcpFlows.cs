using FlowWatch.Flows;

namespace FlowWatch.Tests.Detectors.Handshakes;

/// <summary>TCP handshake packets as Hubble shows them for a client outside (or inside) the cluster and a server pod.</summary>
internal static class TcpFlows
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    public static readonly FlowEndpoint World = new(ReservedIdentity.World, "", "", "", "");

    public static FlowEndpoint Pod(string ns, string workload, string suffix) =>
        new(34567, ns, $"{workload}-6b9f7c-{suffix}", workload, "Deployment");

    /// <summary>One side of a connection: who, at which address and port.</summary>
    public sealed record Side(FlowEndpoint Endpoint, IpAddr Ip, ushort Port);

    public static Side Client(string ip, ushort port) => new(World, IpAddr.Parse(ip), port);

    public static Side Server(FlowEndpoint pod, string ip, ushort port) => new(pod, IpAddr.Parse(ip), port);

    public static FlowRecord FromClient(DateTimeOffset t, Side client, Side server, TcpFlags flags,
        ObservationPoint point = ObservationPoint.ToEndpoint, Verdict verdict = Verdict.Forwarded, int dropReason = 0,
        ServiceRef service = default) => new()
    {
        TimeNanos = FlowRecord.ToNanos(t),
        NodeName = "node-2",
        Verdict = verdict,
        DropReason = dropReason,
        Kind = FlowKind.L3L4,
        EventType = verdict == Verdict.Dropped ? CiliumEventTypes.Drop : CiliumEventTypes.Trace,
        SourceIp = client.Ip,
        DestinationIp = server.Ip,
        Protocol = L4Protocol.Tcp,
        SourcePort = client.Port,
        DestinationPort = server.Port,
        TcpFlags = flags,
        Source = client.Endpoint,
        Destination = server.Endpoint,
        DestinationService = service,
        Reply = ReplyState.Request,
        Direction = TrafficDirection.Ingress,
        ObservationPoint = point,
    };

    public static FlowRecord FromServer(DateTimeOffset t, Side client, Side server, TcpFlags flags,
        ObservationPoint point = ObservationPoint.FromEndpoint, Verdict verdict = Verdict.Forwarded, ServiceRef service = default) => new()
    {
        TimeNanos = FlowRecord.ToNanos(t),
        NodeName = "node-2",
        Verdict = verdict,
        Kind = FlowKind.L3L4,
        EventType = CiliumEventTypes.Trace,
        SourceIp = server.Ip,
        DestinationIp = client.Ip,
        Protocol = L4Protocol.Tcp,
        SourcePort = server.Port,
        DestinationPort = client.Port,
        TcpFlags = flags,
        Source = server.Endpoint,
        Destination = client.Endpoint,
        SourceService = service,
        Reply = ReplyState.Reply,
        Direction = TrafficDirection.Ingress,
        ObservationPoint = point,
    };

    public static FlowRecord HttpResponse(DateTimeOffset t, Side client, Side server, int code, long latencyNanos, ServiceRef service = default) => new()
    {
        TimeNanos = FlowRecord.ToNanos(t),
        NodeName = "node-2",
        Verdict = Verdict.Forwarded,
        Kind = FlowKind.L7,
        EventType = CiliumEventTypes.AccessLog,
        SourceIp = server.Ip,
        DestinationIp = client.Ip,
        Protocol = L4Protocol.Tcp,
        SourcePort = server.Port,
        DestinationPort = client.Port,
        Source = server.Endpoint,
        Destination = client.Endpoint,
        SourceService = service,
        Reply = ReplyState.Reply,
        L7 = new L7Record { Kind = L7Kind.Response, LatencyNanos = latencyNanos, Http = new HttpRecord(code, "GET", "http://shop/") },
    };

    public const TcpFlags Syn = TcpFlags.Syn;
    public const TcpFlags SynAck = TcpFlags.Syn | TcpFlags.Ack;
    public const TcpFlags Ack = TcpFlags.Ack;
    public const TcpFlags PshAck = TcpFlags.Psh | TcpFlags.Ack;
    public const TcpFlags RstAck = TcpFlags.Rst | TcpFlags.Ack;
}
