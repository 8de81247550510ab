using FlowWatch.Hubble.Proto.Flow;
using PbFlow = FlowWatch.Hubble.Proto.Flow.Flow;
using PbVerdict = FlowWatch.Hubble.Proto.Flow.Verdict;

namespace FlowWatch.Flows;

/// <summary>The edge: turns Hubble's protobuf <c>Flow</c> into a <see cref="FlowRecord"/>, interning names.</summary>
public sealed class FlowConverter(StringPool? pool = null)
{
    private readonly StringPool _pool = pool ?? StringPool.Shared;

    /// <summary>The pool this converter interns into, for decoders that stand in for it.</summary>
    internal StringPool Pool => _pool;

    public FlowRecord Convert(PbFlow flow, string? fallbackNode = null)
    {
        var l4 = flow.L4;
        var (protocol, sport, dport, flags, icmpType, icmpCode) = ReadL4(l4);
        var ip = flow.IP;
        // Older agents fill only the deprecated Reply and DropReason fields; reading them is how their flows keep working.
#pragma warning disable CS0612
        var reply = flow.IsReply is { } isReply ? (isReply ? ReplyState.Reply : ReplyState.Request)
            : flow.Reply ? ReplyState.Reply : ReplyState.Unknown;
        var dropReason = (int)flow.DropReasonDesc;
        if (dropReason == 0 && flow.Verdict == PbVerdict.Dropped) dropReason = (int)flow.DropReason;
#pragma warning restore CS0612
        return new FlowRecord
        {
            TimeNanos = flow.Time is { } t ? t.Seconds * 1_000_000_000L + t.Nanos : 0,
            Uuid = flow.Uuid,
            NodeName = _pool.Intern(flow.NodeName.Length != 0 ? flow.NodeName : fallbackNode),
            Verdict = (Verdict)flow.Verdict,
            DropReason = dropReason,
            Kind = (FlowKind)flow.Type,
            EventType = (byte)(flow.EventType?.Type ?? 0),
            EventSubType = (byte)(flow.EventType?.SubType ?? 0),
            SourceIp = ip is null ? default : ParseIp(ip.Source),
            DestinationIp = ip is null ? default : ParseIp(ip.Destination),
            Protocol = protocol,
            SourcePort = sport,
            DestinationPort = dport,
            TcpFlags = flags,
            IcmpType = icmpType,
            IcmpCode = icmpCode,
            Source = ConvertEndpoint(flow.Source),
            Destination = ConvertEndpoint(flow.Destination),
            SourceService = ConvertService(flow.SourceService),
            DestinationService = ConvertService(flow.DestinationService),
            Reply = reply,
            Direction = (TrafficDirection)flow.TrafficDirection,
            ObservationPoint = (ObservationPoint)(int)flow.TraceObservationPoint,
            L7 = ConvertL7(flow.L7),
        };
    }

    private static IpAddr ParseIp(string text) => IpAddr.TryParse(text, out var ip) ? ip : default;

    private static (L4Protocol, ushort, ushort, TcpFlags, byte, byte) ReadL4(Layer4? l4)
    {
        if (l4 is null) return default;
        switch (l4.ProtocolCase)
        {
            case Layer4.ProtocolOneofCase.TCP:
                return (L4Protocol.Tcp, (ushort)l4.TCP.SourcePort, (ushort)l4.TCP.DestinationPort, ConvertFlags(l4.TCP.Flags), 0, 0);
            case Layer4.ProtocolOneofCase.UDP:
                return (L4Protocol.Udp, (ushort)l4.UDP.SourcePort, (ushort)l4.UDP.DestinationPort, 0, 0, 0);
            case Layer4.ProtocolOneofCase.SCTP:
                return (L4Protocol.Sctp, (ushort)l4.SCTP.SourcePort, (ushort)l4.SCTP.DestinationPort, 0, 0, 0);
            case Layer4.ProtocolOneofCase.ICMPv4:
                return (L4Protocol.Icmpv4, 0, 0, 0, (byte)l4.ICMPv4.Type, (byte)l4.ICMPv4.Code);
            case Layer4.ProtocolOneofCase.ICMPv6:
                return (L4Protocol.Icmpv6, 0, 0, 0, (byte)l4.ICMPv6.Type, (byte)l4.ICMPv6.Code);
            default:
                return default;
        }
    }

    public static TcpFlags ConvertFlags(TCPFlags? f)
    {
        if (f is null) return TcpFlags.None;
        var r = TcpFlags.None;
        if (f.FIN) r |= TcpFlags.Fin;
        if (f.SYN) r |= TcpFlags.Syn;
        if (f.RST) r |= TcpFlags.Rst;
        if (f.PSH) r |= TcpFlags.Psh;
        if (f.ACK) r |= TcpFlags.Ack;
        if (f.URG) r |= TcpFlags.Urg;
        if (f.ECE) r |= TcpFlags.Ece;
        if (f.CWR) r |= TcpFlags.Cwr;
        if (f.NS) r |= TcpFlags.Ns;
        return r;
    }

    private FlowEndpoint ConvertEndpoint(Endpoint? e)
    {
        if (e is null || (e.Identity == 0 && e.PodName.Length == 0 && e.Namespace.Length == 0 && e.Labels.Count == 0)) return FlowEndpoint.Empty;
        string workload, kind;
        if (e.Workloads.Count > 0)
        {
            workload = e.Workloads[0].Name;
            kind = e.Workloads[0].Kind;
        }
        else
        {
            workload = e.PodName.Length == 0 ? "" : Workloads.Infer(e.PodName, e.Labels);
            kind = "";
        }
        return new FlowEndpoint(e.Identity, _pool.Intern(e.Namespace), _pool.Intern(e.PodName),
            _pool.Intern(workload), _pool.Intern(kind)) { Labels = EndpointLabels.Of(e.Labels, _pool) };
    }

    private ServiceRef ConvertService(Service? s) =>
        s is null || s.Name.Length == 0 ? default : new ServiceRef(_pool.Intern(s.Namespace), _pool.Intern(s.Name));

    private L7Record? ConvertL7(Layer7? l7)
    {
        if (l7 is null) return null;
        DnsRecord? dns = null;
        HttpRecord? http = null;
        if (l7.RecordCase == Layer7.RecordOneofCase.Dns)
        {
            var d = l7.Dns;
            dns = new DnsRecord(_pool.Intern(d.Query), (int)d.Rcode, d.Qtypes.Count > 0 ? _pool.Intern(d.Qtypes[0]) : "", d.Ips.Count);
        }
        else if (l7.RecordCase == Layer7.RecordOneofCase.Http)
        {
            var h = l7.Http;
            http = new HttpRecord((int)h.Code, _pool.Intern(h.Method), h.Url);
        }
        return new L7Record { Kind = (L7Kind)l7.Type, LatencyNanos = (long)l7.LatencyNs, Dns = dns, Http = http };
    }
}
