using System.Text;
using System.Text.Json;
using FlowWatch.Hubble.Proto.Flow;
using Google.Protobuf.Reflection;
using PbFlow = FlowWatch.Hubble.Proto.Flow.Flow;

namespace FlowWatch.Flows.Json;

/// <summary>The nested messages of a Flow: addresses, layer 4, endpoints, services, layer 7, event type, lost events.</summary>
public sealed partial class FlowJsonDecoder
{
    private sealed record ServiceBox(ServiceRef Value);

    internal readonly record struct L4Fields(L4Protocol Protocol, ushort SourcePort, ushort DestinationPort, TcpFlags Flags, byte IcmpType, byte IcmpCode);

    private static class Names
    {
        public static readonly JsonNames Ip = JsonNames.Fields(IP.Descriptor);
        public static readonly JsonNames Layer4 = JsonNames.Fields(Hubble.Proto.Flow.Layer4.Descriptor);
        public static readonly JsonNames Ports = JsonNames.Fields(TCP.Descriptor);
        public static readonly JsonNames Icmp = JsonNames.Fields(ICMPv4.Descriptor);
        public static readonly JsonNames Flags = JsonNames.Fields(TCPFlags.Descriptor);
        public static readonly JsonNames Endpoint = JsonNames.Fields(Hubble.Proto.Flow.Endpoint.Descriptor);
        public static readonly JsonNames Workload = JsonNames.Fields(Hubble.Proto.Flow.Workload.Descriptor);
        public static readonly JsonNames Service = JsonNames.Fields(Hubble.Proto.Flow.Service.Descriptor);
        public static readonly JsonNames Layer7 = JsonNames.Fields(Hubble.Proto.Flow.Layer7.Descriptor);
        public static readonly JsonNames Dns = JsonNames.Fields(DNS.Descriptor);
        public static readonly JsonNames Http = JsonNames.Fields(HTTP.Descriptor);
        public static readonly JsonNames EventType = JsonNames.Fields(CiliumEventType.Descriptor);
        public static readonly JsonNames Lost = JsonNames.Fields(LostEvent.Descriptor);
    }

    private static class Enums
    {
        public static readonly JsonNames Verdict = Of(PbFlow.Descriptor, "verdict");
        public static readonly JsonNames FlowType = Of(PbFlow.Descriptor, "Type");
        public static readonly JsonNames Direction = Of(PbFlow.Descriptor, "traffic_direction");
        public static readonly JsonNames Point = Of(PbFlow.Descriptor, "trace_observation_point");
        public static readonly JsonNames DropReason = Of(PbFlow.Descriptor, "drop_reason_desc");
        public static readonly JsonNames L7Type = Of(Hubble.Proto.Flow.Layer7.Descriptor, "type");
        public static readonly JsonNames LostSource = Of(LostEvent.Descriptor, "source");

        private static JsonNames Of(MessageDescriptor message, string field) => JsonNames.Values(message.FindFieldByName(field).EnumType);
    }

    private static void ExpectObject(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartObject) throw new FormatException("Expected an object");
    }

    /// <summary>Moves to the value of the next property that <paramref name="names"/> declares; false at the object's end.</summary>
    private static bool NextField(ref Utf8JsonReader r, JsonNames names, out int field)
    {
        while (ReadProperty(ref r, out var name))
        {
            field = names.Find(name);
            r.Read();
            if (field != 0) return true;
            r.Skip();
        }
        field = 0;
        return false;
    }

    private static (IpAddr, IpAddr) ReadIp(ref Utf8JsonReader r)
    {
        ExpectObject(ref r);
        IpAddr source = default, destination = default;
        while (NextField(ref r, Names.Ip, out var field))
        {
            if (field is not (1 or 2)) { r.Skip(); continue; }
            var ip = r.TokenType == JsonTokenType.Null ? default : FlowWireDecoder.ParseIp(JsonValues.Unescaped(ref r));
            if (field == 1) source = ip; else destination = ip;
        }
        return (source, destination);
    }

    private static L4Fields ReadL4(ref Utf8JsonReader r)
    {
        ExpectObject(ref r);
        L4Fields result = default;
        var seen = false;
        while (NextField(ref r, Names.Layer4, out var field))
        {
            if (seen) throw new FormatException("Multiple values specified for oneof protocol");
            seen = true;
            if (r.TokenType == JsonTokenType.Null) { result = default; continue; }
            ExpectObject(ref r);
            uint a = 0, b = 0;
            var flags = TcpFlags.None;
            var names = field is 3 or 4 ? Names.Icmp : Names.Ports;
            while (NextField(ref r, names, out var inner))
            {
                var isNull = r.TokenType == JsonTokenType.Null;
                if (inner == 1) a = isNull ? 0 : JsonValues.UInt32(ref r);
                else if (inner == 2) b = isNull ? 0 : JsonValues.UInt32(ref r);
                else if (inner == 3 && field == 1) flags = isNull ? TcpFlags.None : ReadFlags(ref r);
                else r.Skip();
            }
            result = field switch
            {
                1 => new L4Fields(L4Protocol.Tcp, (ushort)a, (ushort)b, flags, 0, 0),
                2 => new L4Fields(L4Protocol.Udp, (ushort)a, (ushort)b, 0, 0, 0),
                3 => new L4Fields(L4Protocol.Icmpv4, 0, 0, 0, (byte)a, (byte)b),
                4 => new L4Fields(L4Protocol.Icmpv6, 0, 0, 0, (byte)a, (byte)b),
                _ => new L4Fields(L4Protocol.Sctp, (ushort)a, (ushort)b, 0, 0, 0),
            };
        }
        return result;
    }

    private static TcpFlags ReadFlags(ref Utf8JsonReader r)
    {
        ExpectObject(ref r);
        var flags = TcpFlags.None;
        while (NextField(ref r, Names.Flags, out var field))
        {
            var bit = (TcpFlags)(1 << (field - 1));
            flags = r.TokenType != JsonTokenType.Null && JsonValues.Bool(ref r) ? flags | bit : flags & ~bit;
        }
        return flags;
    }

    private static (int, int) ReadEventType(ref Utf8JsonReader r)
    {
        ExpectObject(ref r);
        int type = 0, subType = 0;
        while (NextField(ref r, Names.EventType, out var field))
        {
            var v = r.TokenType == JsonTokenType.Null ? 0 : JsonValues.Int32(ref r);
            if (field == 1) type = v; else subType = v;
        }
        return (type, subType);
    }

    private static (int, ulong) ReadLost(ref Utf8JsonReader r)
    {
        int source = 0; ulong count = 0;
        while (NextField(ref r, Names.Lost, out var field))
        {
            var isNull = r.TokenType == JsonTokenType.Null;
            if (field == 1) { if (isNull) source = 0; else JsonValues.Enum(ref r, Enums.LostSource, ref source); }
            else if (field == 2) count = isNull ? 0 : JsonValues.UInt64(ref r);
            else r.Skip();
        }
        return (source, count);
    }

    /// <summary>The reader on an object's start: the object's own bytes, the reader moved past its end.</summary>
    private static ReadOnlySpan<byte> RawObject(ref Utf8JsonReader r, ReadOnlySpan<byte> line)
    {
        ExpectObject(ref r);
        var start = (int)r.TokenStartIndex;
        r.Skip();
        return line[start..(int)r.BytesConsumed];
    }

    private FlowEndpoint EndpointOf(ref Utf8JsonReader r, ReadOnlySpan<byte> line) => _endpoints.Get(RawObject(ref r, line));

    private FlowEndpoint DecodeEndpoint(ReadOnlySpan<byte> json)
    {
        var r = new Utf8JsonReader(json, ReaderOptions);
        r.Read();
        uint identity = 0;
        string ns = "", pod = "", workload = "", kind = "";
        var workloads = 0;
        List<string>? labels = null;
        while (NextField(ref r, Names.Endpoint, out var field))
        {
            var isNull = r.TokenType == JsonTokenType.Null;
            switch (field)
            {
                case 2: identity = isNull ? 0 : JsonValues.UInt32(ref r); break;
                case 3: ns = String(ref r); break;
                case 5: pod = String(ref r); break;
                case 4:
                    if (isNull) { labels?.Clear(); break; }
                    ExpectArray(ref r);
                    while (NextElement(ref r)) (labels ??= []).Add(RequiredString(ref r));
                    break;
                case 6:
                    if (isNull) { workloads = 0; break; }
                    ExpectArray(ref r);
                    while (NextElement(ref r))
                    {
                        ExpectObject(ref r);
                        string name = "", k = "";
                        while (NextField(ref r, Names.Workload, out var w))
                        {
                            if (w == 1) name = String(ref r);
                            else if (w == 2) k = String(ref r);
                            else r.Skip();
                        }
                        if (workloads++ == 0) { workload = name; kind = k; }
                    }
                    break;
                default: r.Skip(); break;
            }
        }
        if (identity == 0 && pod.Length == 0 && ns.Length == 0 && labels is not { Count: > 0 }) return FlowEndpoint.Empty;
        if (workloads == 0)
        {
            workload = pod.Length == 0 ? "" : _pool.Intern(Workloads.Infer(pod, labels ?? []));
            kind = "";
        }
        return new FlowEndpoint(identity, ns, pod, workload, kind) { Labels = EndpointLabels.Of(labels, _pool) };
    }

    private ServiceRef ServiceOf(ref Utf8JsonReader r, ReadOnlySpan<byte> line) => _services.Get(RawObject(ref r, line)).Value;

    private ServiceRef DecodeService(ReadOnlySpan<byte> json)
    {
        var r = new Utf8JsonReader(json, ReaderOptions);
        r.Read();
        string name = "", ns = "";
        while (NextField(ref r, Names.Service, out var field))
        {
            if (field == 1) name = String(ref r);
            else if (field == 2) ns = String(ref r);
            else r.Skip();
        }
        return name.Length == 0 ? default : new ServiceRef(ns, name);
    }

    private L7Record ReadL7(ref Utf8JsonReader r)
    {
        ExpectObject(ref r);
        int type = 0; ulong latency = 0;
        DnsRecord? dns = null; HttpRecord? http = null;
        var seenRecord = false;
        while (NextField(ref r, Names.Layer7, out var field))
        {
            var isNull = r.TokenType == JsonTokenType.Null;
            switch (field)
            {
                case 1: if (isNull) type = 0; else JsonValues.Enum(ref r, Enums.L7Type, ref type); break;
                case 2: latency = isNull ? 0 : JsonValues.UInt64(ref r); break;
                case 100 or 101 or 102:
                    if (seenRecord) throw new FormatException("Multiple values specified for oneof record");
                    seenRecord = true;
                    if (isNull) break;
                    ExpectObject(ref r);
                    if (field == 100) dns = ReadDns(ref r);
                    else if (field == 101) http = ReadHttp(ref r);
                    else r.Skip();
                    break;
                default: r.Skip(); break;
            }
        }
        return new L7Record { Kind = (L7Kind)type, LatencyNanos = (long)latency, Dns = dns, Http = http };
    }

    private DnsRecord ReadDns(ref Utf8JsonReader r)
    {
        string query = "", qtype = "";
        int rcode = 0, ips = 0, qtypes = 0;
        while (NextField(ref r, Names.Dns, out var field))
        {
            var isNull = r.TokenType == JsonTokenType.Null;
            switch (field)
            {
                case 1: query = String(ref r); break;
                case 6: rcode = isNull ? 0 : (int)JsonValues.UInt32(ref r); break;
                case 2:
                    if (isNull) { ips = 0; break; }
                    ExpectArray(ref r);
                    while (NextElement(ref r)) { SkipString(ref r); ips++; }
                    break;
                case 7:
                    if (isNull) { qtypes = 0; qtype = ""; break; }
                    ExpectArray(ref r);
                    while (NextElement(ref r))
                    {
                        if (qtypes++ == 0) qtype = RequiredString(ref r);
                        else SkipString(ref r);
                    }
                    break;
                default: r.Skip(); break;
            }
        }
        return new DnsRecord(query, rcode, qtype, ips);
    }

    private HttpRecord ReadHttp(ref Utf8JsonReader r)
    {
        int code = 0; string method = "", url = "";
        while (NextField(ref r, Names.Http, out var field))
        {
            var isNull = r.TokenType == JsonTokenType.Null;
            switch (field)
            {
                case 1: code = isNull ? 0 : (int)JsonValues.UInt32(ref r); break;
                case 2: method = String(ref r); break;
                // URLs are too many to intern: one string a flow, as the wire decoder does.
                case 3: url = isNull ? "" : r.TokenType == JsonTokenType.String ? r.GetString()! : throw JsonValues.Unsupported(r.TokenType, "string"); break;
                default: r.Skip(); break;
            }
        }
        return new HttpRecord(code, method, url);
    }

    private static void ExpectArray(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartArray) throw new FormatException("Repeated field value was not an array. Token type: " + r.TokenType);
    }

    /// <summary>Moves to the next element of the array the reader is in; false at its end. A null element is refused.</summary>
    private static bool NextElement(ref Utf8JsonReader r)
    {
        r.Read();
        if (r.TokenType == JsonTokenType.EndArray) return false;
        if (r.TokenType == JsonTokenType.Null) throw new FormatException("Repeated field elements cannot be null");
        return true;
    }

    private string RequiredString(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.String) throw JsonValues.Unsupported(r.TokenType, "string");
        return String(ref r);
    }

    private static void SkipString(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.String) throw JsonValues.Unsupported(r.TokenType, "string");
    }
}
