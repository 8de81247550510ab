using System.Globalization;
using System.Text;
using FlowWatch.Flows;
using FlowWatch.Store;

namespace FlowWatch.Api;

/// <summary>Writes a stored flow as <c>hubble observe -o jsonpb</c> writes it: one GetFlowsResponse (hubble v0.12.3's <c>-o json</c> is an alias).</summary>
/// <remarks>
/// Byte for byte what hubble v0.12.3 prints for the same message: Go's protojson with proto field names, fields in
/// declaration order, defaults left out, enums by name, 64-bit integers as strings, RFC 3339 times with 0, 3, 6 or 9
/// fractional digits; then encoding/json's compaction, which escapes &lt; &gt; &amp; U+2028 U+2029.
/// <para>
/// What the store keeps is what can be written: time, uuid, verdict, drop reason, IPs, L4 ports/flags/ICMP type and
/// code, each side's identity, namespace, labels, pod and (Hubble-given) workload, flow type, node, event type and sub-type,
/// services, traffic direction, observation point, reply, and the L7 type with the DNS query, first qtype and rcode
/// or the HTTP code, method and url. Not kept, so not written: ethernet, endpoint IDs, cluster names,
/// source/destination names, DNS answers (ips, ttl, cnames, rrtypes, observation source), HTTP protocol and headers,
/// L7 latency, policy match type, interface, trace context. The Summary is written again from what is kept.
/// </para>
/// </remarks>
public static class HubbleFlowJson
{
    /// <summary>One <c>-o jsonpb</c> line (without its newline): <c>{"flow":{...},"node_name":...,"time":...}</c>.</summary>
    public static void WriteResponse(StringBuilder sb, StoredFlow f)
    {
        sb.Append("{\"flow\":");
        WriteFlow(sb, f);
        if (f.Node.Length > 0) { sb.Append(",\"node_name\":"); Str(sb, f.Node); }
        sb.Append(",\"time\":"); Time(sb, f.TimeNanos);
        sb.Append('}');
    }

    /// <summary>The Flow message alone (what hubble before v0.8 wrote for <c>-o json</c>, and FlowWatch's replay still reads).</summary>
    public static void WriteFlow(StringBuilder sb, StoredFlow f)
    {
        var o = new Obj(sb);
        o.Key("time"); Time(sb, f.TimeNanos);
        if (f.Uuid.Length > 0) { o.Key("uuid"); Str(sb, f.Uuid); }
        if (f.Verdict != Verdict.Unknown) { o.Key("verdict"); Str(sb, VerdictName(f.Verdict)); }
        // Cilium sets the deprecated number beside the enum on datapath drops.
        if (f.DropReason != 0 && f.Kind != FlowKind.L7) { o.Key("drop_reason"); Num(sb, f.DropReason); }
        if (!f.Source.Ip.IsNone || !f.Destination.Ip.IsNone)
        {
            o.Key("IP");
            var ip = new Obj(sb);
            if (!f.Source.Ip.IsNone) { ip.Key("source"); Str(sb, f.Source.Ip.ToString()); }
            if (!f.Destination.Ip.IsNone) { ip.Key("destination"); Str(sb, f.Destination.Ip.ToString()); }
            var any = f.Source.Ip.IsNone ? f.Destination.Ip : f.Source.Ip;
            ip.Key("ipVersion"); Str(sb, any.IsV4 ? "IPv4" : "IPv6");
            ip.End();
        }
        if (f.Protocol != L4Protocol.None) { o.Key("l4"); Layer4(sb, f); }
        o.Key("source"); Endpoint(sb, f.Source);
        o.Key("destination"); Endpoint(sb, f.Destination);
        if (f.Kind != FlowKind.Unknown) { o.Key("Type"); Str(sb, KindName(f.Kind)); }
        if (f.Node.Length > 0) { o.Key("node_name"); Str(sb, f.Node); }
        if (f.L7Protocol != L7Protocol.None) { o.Key("l7"); Layer7(sb, f); }
        if (f.Reply == ReplyState.Reply) { o.Key("reply"); sb.Append("true"); }
        if (f.EventType != 0 || f.EventSubType != 0)
        {
            o.Key("event_type");
            var e = new Obj(sb);
            if (f.EventType != 0) { e.Key("type"); Num(sb, f.EventType); }
            if (f.EventSubType != 0) { e.Key("sub_type"); Num(sb, f.EventSubType); }
            e.End();
        }
        if (f.Source.Service.Length > 0) { o.Key("source_service"); Service(sb, f.Source.Service); }
        if (f.Destination.Service.Length > 0) { o.Key("destination_service"); Service(sb, f.Destination.Service); }
        if (f.Direction != TrafficDirection.Unknown) { o.Key("traffic_direction"); Str(sb, f.Direction == TrafficDirection.Ingress ? "INGRESS" : "EGRESS"); }
        if (f.ObservationPoint != ObservationPoint.Unknown) { o.Key("trace_observation_point"); Enum(sb, ObservationPointName(f.ObservationPoint)); }
        if (f.DropReason != 0) { o.Key("drop_reason_desc"); Enum(sb, DropReasons.Name(f.DropReason)); }
        if (f.Reply != ReplyState.Unknown) { o.Key("is_reply"); sb.Append(f.Reply == ReplyState.Reply ? "true" : "false"); }
        var summary = Summary(f);
        if (summary.Length > 0) { o.Key("Summary"); Str(sb, summary); }
        o.End();
    }

    private static void Layer4(StringBuilder sb, StoredFlow f)
    {
        var l4 = new Obj(sb);
        switch (f.Protocol)
        {
            case L4Protocol.Tcp:
                l4.Key("TCP");
                var tcp = Ports(sb, f);
                if (f.TcpFlags != TcpFlags.None)
                {
                    tcp.Key("flags");
                    var flags = new Obj(sb);
                    foreach (var (flag, name) in FlagOrder)
                        if ((f.TcpFlags & flag) != 0) { flags.Key(name); sb.Append("true"); }
                    flags.End();
                }
                tcp.End();
                break;
            case L4Protocol.Udp: l4.Key("UDP"); Ports(sb, f).End(); break;
            case L4Protocol.Sctp: l4.Key("SCTP"); Ports(sb, f).End(); break;
            case L4Protocol.Icmpv4:
            case L4Protocol.Icmpv6:
                l4.Key(f.Protocol == L4Protocol.Icmpv4 ? "ICMPv4" : "ICMPv6");
                var icmp = new Obj(sb);
                if (f.IcmpType != 0) { icmp.Key("type"); Num(sb, f.IcmpType); }
                if (f.IcmpCode != 0) { icmp.Key("code"); Num(sb, f.IcmpCode); }
                icmp.End();
                break;
        }
        l4.End();
    }

    private static Obj Ports(StringBuilder sb, StoredFlow f)
    {
        var p = new Obj(sb);
        if (f.Source.Port != 0) { p.Key("source_port"); Num(sb, f.Source.Port); }
        if (f.Destination.Port != 0) { p.Key("destination_port"); Num(sb, f.Destination.Port); }
        return p;
    }

    /// <summary>TCPFlags' declaration order in flow.proto.</summary>
    private static readonly (TcpFlags, string)[] FlagOrder =
    [
        (TcpFlags.Fin, "FIN"), (TcpFlags.Syn, "SYN"), (TcpFlags.Rst, "RST"), (TcpFlags.Psh, "PSH"), (TcpFlags.Ack, "ACK"),
        (TcpFlags.Urg, "URG"), (TcpFlags.Ece, "ECE"), (TcpFlags.Cwr, "CWR"), (TcpFlags.Ns, "NS"),
    ];

    private static void Endpoint(StringBuilder sb, StoredEndpoint e)
    {
        var o = new Obj(sb);
        if (e.Identity != 0) { o.Key("identity"); Num(sb, e.Identity); }
        if (e.Namespace.Length > 0) { o.Key("namespace"); Str(sb, e.Namespace); }
        if (!e.Labels.IsEmpty)
        {
            o.Key("labels");
            sb.Append('[');
            for (var i = 0; i < e.Labels.Count; i++)
            {
                if (i > 0) sb.Append(',');
                Str(sb, e.Labels.Labels[i]);
            }
            sb.Append(']');
        }
        if (e.Pod.Length > 0) { o.Key("pod_name"); Str(sb, e.Pod); }
        // A workload without a kind was inferred by FlowWatch from the pod name, not given by Hubble: not Hubble's to write.
        if (e.Workload.Length > 0 && e.WorkloadKind.Length > 0)
        {
            o.Key("workloads");
            sb.Append('[');
            var w = new Obj(sb);
            w.Key("name"); Str(sb, e.Workload);
            w.Key("kind"); Str(sb, e.WorkloadKind);
            w.End();
            sb.Append(']');
        }
        o.End();
    }

    private static void Service(StringBuilder sb, string service)
    {
        var slash = service.IndexOf('/');
        var o = new Obj(sb);
        var name = slash < 0 ? service : service[(slash + 1)..];
        var ns = slash < 0 ? "" : service[..slash];
        if (name.Length > 0) { o.Key("name"); Str(sb, name); }
        if (ns.Length > 0) { o.Key("namespace"); Str(sb, ns); }
        o.End();
    }

    private static void Layer7(StringBuilder sb, StoredFlow f)
    {
        var o = new Obj(sb);
        if (f.L7Kind != L7Kind.Unknown) { o.Key("type"); Str(sb, f.L7Kind.ToString().ToUpperInvariant()); }
        if (f.L7Protocol == L7Protocol.Dns)
        {
            o.Key("dns");
            var d = new Obj(sb);
            if (f.L7Name.Length > 0) { d.Key("query"); Str(sb, f.L7Name); }
            if (f.L7Code != 0) { d.Key("rcode"); Num(sb, f.L7Code); }
            if (f.L7Detail.Length > 0) { d.Key("qtypes"); sb.Append('['); Str(sb, f.L7Detail); sb.Append(']'); }
            d.End();
        }
        else if (f.L7Protocol == L7Protocol.Http)
        {
            o.Key("http");
            var h = new Obj(sb);
            if (f.L7Code != 0) { h.Key("code"); Num(sb, f.L7Code); }
            if (f.L7Detail.Length > 0) { h.Key("method"); Str(sb, f.L7Detail); }
            if (f.L7Name.Length > 0) { h.Key("url"); Str(sb, f.L7Name); }
            h.End();
        }
        o.End();
    }

    /// <summary>The deprecated Summary in Cilium's wording, from what the store keeps (DNS answers lack their IPs and TTL).</summary>
    public static string Summary(StoredFlow f)
    {
        switch (f.L7Protocol)
        {
            case L7Protocol.Dns when f.L7Kind == L7Kind.Response:
                var rcode = f.L7Code != 0 ? $"RCode: {Simulation.FlowSummary.RcodeName((uint)f.L7Code)} " : "";
                return $"DNS Answer {rcode}({f.L7Name} {f.L7Detail})";
            case L7Protocol.Dns:
                return $"DNS Query {f.L7Name} {f.L7Detail}";
            case L7Protocol.Http when f.L7Kind == L7Kind.Response:
                return $"HTTP {f.L7Code.ToString(CultureInfo.InvariantCulture)} ({f.L7Detail} {f.L7Name})";
            case L7Protocol.Http:
                return $"HTTP {f.L7Detail} {f.L7Name}";
        }
        return f.Protocol switch
        {
            L4Protocol.Tcp => f.TcpFlags == TcpFlags.None ? "TCP" : "TCP Flags: " + string.Join(", ", CiliumFlagOrder.Where(x => (f.TcpFlags & x.Flag) != 0).Select(x => x.Name)),
            L4Protocol.Udp => "UDP",
            L4Protocol.Sctp => "SCTP",
            L4Protocol.Icmpv4 => $"ICMPv4 {Icmpv4(f.IcmpType, f.IcmpCode)}",
            L4Protocol.Icmpv6 => $"ICMPv6 {f.IcmpType.ToString(CultureInfo.InvariantCulture)}",
            _ => "",
        };
    }

    /// <summary>The order Cilium's summary lists TCP flags in.</summary>
    private static readonly (TcpFlags Flag, string Name)[] CiliumFlagOrder =
    [
        (TcpFlags.Syn, "SYN"), (TcpFlags.Ack, "ACK"), (TcpFlags.Rst, "RST"), (TcpFlags.Fin, "FIN"), (TcpFlags.Psh, "PSH"),
        (TcpFlags.Urg, "URG"), (TcpFlags.Ece, "ECE"), (TcpFlags.Cwr, "CWR"), (TcpFlags.Ns, "NS"),
    ];

    private static string Icmpv4(byte type, byte code) => type switch
    {
        0 => "EchoReply",
        3 => "DestinationUnreachable(" + code.ToString(CultureInfo.InvariantCulture) + ")",
        8 => "EchoRequest",
        11 => "TimeExceeded",
        _ => type.ToString(CultureInfo.InvariantCulture),
    };

    private static string VerdictName(Verdict v) => v.ToString().ToUpperInvariant();

    private static string KindName(FlowKind k) => k switch { FlowKind.L3L4 => "L3_L4", FlowKind.L7 => "L7", FlowKind.Sock => "SOCK", _ => "UNKNOWN_TYPE" };

    private static string ObservationPointName(ObservationPoint p) => ProtoEnumNames<Hubble.Proto.Flow.TraceObservationPoint>.Of((Hubble.Proto.Flow.TraceObservationPoint)(int)p);

    /// <summary>An enum value: its name, or (newer than these protos) its number, as protojson writes unknown values.</summary>
    private static void Enum(StringBuilder sb, string name)
    {
        if (name.Length > 0 && char.IsAsciiDigit(name[0])) sb.Append(name);
        else Str(sb, name);
    }

    /// <summary>protojson's Timestamp: UTC, "Z", fractional seconds in groups of three digits, none when whole.</summary>
    public static void Time(StringBuilder sb, long nanos)
    {
        var seconds = Math.DivRem(nanos, 1_000_000_000L, out var fraction);
        if (fraction < 0) { seconds--; fraction += 1_000_000_000L; }
        var t = DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime;
        sb.Append('"').Append(t.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture));
        if (fraction != 0)
        {
            var digits = fraction.ToString("D9", CultureInfo.InvariantCulture);
            var keep = fraction % 1_000_000 == 0 ? 3 : fraction % 1_000 == 0 ? 6 : 9;
            sb.Append('.').Append(digits, 0, keep);
        }
        sb.Append("Z\"");
    }

    private static void Num(StringBuilder sb, long n) => sb.Append(n.ToString(CultureInfo.InvariantCulture));

    /// <summary>A JSON string as protojson escapes it and encoding/json's HTML-safe compaction then re-escapes it.</summary>
    public static void Str(StringBuilder sb, string s)
    {
        sb.Append('"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '<': sb.Append("\\u003c"); break;
                case '>': sb.Append("\\u003e"); break;
                case '&': sb.Append("\\u0026"); break;
                case '\u2028': sb.Append("\\u2028"); break;
                case '\u2029': sb.Append("\\u2029"); break;
                default:
                    if (c < ' ') sb.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])))
                        sb.Append('\uFFFD');   // a lone surrogate is not UTF-8; Go would write the replacement character
                    else if (char.IsHighSurrogate(c)) { sb.Append(c).Append(s[i + 1]); i++; }
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>A JSON object being written: the braces and the commas between its members.</summary>
    private struct Obj
    {
        private readonly StringBuilder _sb;
        private bool _any;

        public Obj(StringBuilder sb)
        {
            _sb = sb;
            _any = false;
            sb.Append('{');
        }

        public void Key(string name)
        {
            if (_any) _sb.Append(',');
            _any = true;
            _sb.Append('"').Append(name).Append("\":");
        }

        public readonly void End() => _sb.Append('}');
    }
}
