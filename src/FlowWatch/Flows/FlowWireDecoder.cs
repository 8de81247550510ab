using System.Buffers.Binary;
using System.Net;

namespace FlowWatch.Flows;

/// <summary>What one <c>GetFlowsResponse</c> held: a flow, a lost-events notice, or something else (node status).</summary>
public enum ResponseKind : byte { Other, Flow, LostEvents }

/// <summary>A decoded <c>GetFlowsResponse</c>.</summary>
public readonly record struct DecodedResponse(ResponseKind Kind, FlowRecord? Flow, int LostSource, ulong LostCount, string NodeName);

/// <summary>
/// Decodes Hubble's <c>GetFlowsResponse</c> wire bytes straight into a <see cref="FlowRecord"/>, reading only
/// the fields FlowWatch uses and skipping the rest, with names and endpoints interned from their bytes.
/// </summary>
/// <remarks>
/// It must agree field by field with <see cref="FlowConverter"/> over Google.Protobuf's generated parser
/// (tests check every corpus line and fuzzed messages). Not thread-safe: one per decoding thread.
/// </remarks>
public sealed class FlowWireDecoder
{
    private readonly Utf8StringInterner _strings;
    private readonly Utf8Interner<FlowEndpoint> _endpoints;
    private readonly Utf8Interner<ServiceBox> _services;

    public FlowWireDecoder(StringPool? pool = null)
    {
        var p = pool ?? StringPool.Shared;
        _strings = new Utf8StringInterner(p);
        // Sized for a large cluster: 100,000 pods' endpoints (with churn) and their names fit without thrashing.
        _endpoints = new Utf8Interner<FlowEndpoint>(DecodeEndpoint, 1 << 18);
        _services = new Utf8Interner<ServiceBox>(b => new ServiceBox(DecodeService(b)), 1 << 15);
        _dns = new Utf8Interner<DnsRecord>(ReadDns, 1 << 14);
        _http = new Utf8Interner<HttpRecord>(ReadHttp, 1 << 14);
    }

    private readonly Utf8Interner<DnsRecord> _dns;
    private readonly Utf8Interner<HttpRecord> _http;

    private sealed record ServiceBox(ServiceRef Value);

    /// <summary>Stamped on every record decoded (<see cref="FlowRecord.Origin"/>): the source this decoder reads for.</summary>
    public string Origin { get; init; } = "";

    /// <summary>Where decoded records are rented from; each is a new object when null. Whoever takes the records from
    /// this decoder must then hand each to a pipeline that returns it, or hold it for good (see <see cref="FlowRecord"/>).</summary>
    public FlowRecordPool? Records { get; init; }

    /// <summary>Decodes one message; throws <see cref="FormatException"/> when the bytes are not a valid message.</summary>
    public DecodedResponse Decode(ReadOnlySpan<byte> message, string? fallbackNode = null, long timeShiftNanos = 0)
    {
        var r = new WireReader(message);
        ReadOnlySpan<byte> flow = default, lost = default;
        var kind = ResponseKind.Other;
        var node = "";
        while (!r.End)
        {
            var (field, wt) = r.ReadTag();
            switch (field)
            {
                case 1 when wt == 2: flow = r.ReadBytes(); kind = ResponseKind.Flow; break;
                case 2 when wt == 2: r.ReadBytes(); kind = ResponseKind.Other; flow = default; break;
                case 3 when wt == 2: lost = r.ReadBytes(); kind = ResponseKind.LostEvents; flow = default; break;
                case 1000 when wt == 2: node = _strings.Get(r.ReadBytes()); break;
                default: r.Skip(wt); break;
            }
        }
        switch (kind)
        {
            case ResponseKind.Flow:
                return new DecodedResponse(kind, DecodeFlow(flow, node.Length != 0 ? node : fallbackNode, timeShiftNanos), 0, 0, node);
            case ResponseKind.LostEvents:
                int source = 0; ulong count = 0;
                var lr = new WireReader(lost);
                while (!lr.End)
                {
                    var (f, w) = lr.ReadTag();
                    if (f == 1 && w == 0) source = (int)lr.ReadVarint();
                    else if (f == 2 && w == 0) count = lr.ReadVarint();
                    else lr.Skip(w);
                }
                return new DecodedResponse(kind, null, source, count, node);
            default:
                return new DecodedResponse(kind, null, 0, 0, node);
        }
    }

    /// <param name="timeShiftNanos">Added to the flow's time: replays of one recording laid end to end (benchmarks).</param>
    public FlowRecord DecodeFlow(ReadOnlySpan<byte> data, string? fallbackNode = null, long timeShiftNanos = 0)
    {
        var r = new WireReader(data);
        long seconds = 0; int nanos = 0;
        int verdict = 0, dropReason = 0, dropReasonDesc = 0, type = 0, eventType = 0, eventSubType = 0, direction = 0, point = 0;
        bool reply = false; int isReply = -1;
        string uuid = "", node = "";
        Uuid128 uuidBits = default;
        IpAddr src = default, dst = default;
        L4 l4 = default;
        FlowEndpoint source = FlowEndpoint.Empty, destination = FlowEndpoint.Empty;
        ServiceRef sourceService = default, destinationService = default;
        L7Parts l7 = default;
        while (!r.End)
        {
            var (field, wt) = r.ReadTag();
            switch (field)
            {
                case 1 when wt == 2: (seconds, nanos) = ReadTimestamp(r.ReadBytes()); break;
                case 2 when wt == 0: verdict = (int)r.ReadVarint(); break;
                case 3 when wt == 0: dropReason = (int)(uint)r.ReadVarint(); break;
                case 5 when wt == 2: (src, dst) = ReadIp(r.ReadBytes()); break;
                case 6 when wt == 2: l4 = ReadL4(r.ReadBytes()); break;
                case 8 when wt == 2: source = EndpointOf(r.ReadBytes()); break;
                case 9 when wt == 2: destination = EndpointOf(r.ReadBytes()); break;
                case 10 when wt == 0: type = (int)r.ReadVarint(); break;
                case 11 when wt == 2: node = _strings.Get(r.ReadBytes()); break;
                case 15 when wt == 2: l7 = ReadL7(r.ReadBytes()); break;
                case 16 when wt == 0: reply = r.ReadVarint() != 0; break;
                case 19 when wt == 2: (eventType, eventSubType) = ReadEventType(r.ReadBytes()); break;
                case 20 when wt == 2: sourceService = ServiceOf(r.ReadBytes()); break;
                case 21 when wt == 2: destinationService = ServiceOf(r.ReadBytes()); break;
                case 22 when wt == 0: direction = (int)r.ReadVarint(); break;
                case 24 when wt == 0: point = (int)r.ReadVarint(); break;
                case 25 when wt == 0: dropReasonDesc = (int)r.ReadVarint(); break;
                case 26 when wt == 2: isReply = ReadBoolValue(r.ReadBytes()) ? 1 : 0; break;
                case 34 when wt == 2:
                    var id = r.ReadBytes();
                    // Canonical ids stay 16 bytes until read; anything else is kept as text, as the generated parser would.
                    if (Uuid128.TryParse(id, out uuidBits)) uuid = "";
                    else { uuidBits = default; uuid = System.Text.Encoding.UTF8.GetString(id); }
                    break;
                default: r.Skip(wt); break;
            }
        }
        if (dropReasonDesc == 0 && verdict == (int)Verdict.Dropped) dropReasonDesc = dropReason;
        var record = Records?.Rent() ?? new FlowRecord();
        record.Data = new FlowData
        {
            Origin = Origin,
            TimeNanos = seconds * 1_000_000_000L + nanos + timeShiftNanos,
            UuidText = uuid.Length == 0 ? null : uuid,
            UuidBits = uuidBits,
            NodeName = node.Length != 0 ? node : fallbackNode is null ? "" : StringPool.Shared.Intern(fallbackNode),
            Verdict = (Verdict)verdict,
            DropReason = dropReasonDesc,
            Kind = (FlowKind)type,
            EventType = (byte)eventType,
            EventSubType = (byte)eventSubType,
            SourceIp = src,
            DestinationIp = dst,
            Protocol = l4.Protocol,
            SourcePort = l4.SourcePort,
            DestinationPort = l4.DestinationPort,
            TcpFlags = l4.Flags,
            IcmpType = l4.IcmpType,
            IcmpCode = l4.IcmpCode,
            Source = source,
            Destination = destination,
            SourceService = sourceService,
            DestinationService = destinationService,
            Reply = isReply == 1 ? ReplyState.Reply : isReply == 0 ? ReplyState.Request : reply ? ReplyState.Reply : ReplyState.Unknown,
            Direction = (TrafficDirection)direction,
            ObservationPoint = (ObservationPoint)point,
            L7 = l7.Present ? Fill(record.L7ToFill(), l7) : null,
        };
        return record;
    }

    private readonly record struct L4(L4Protocol Protocol, ushort SourcePort, ushort DestinationPort, TcpFlags Flags, byte IcmpType, byte IcmpCode);

    private static (long, int) ReadTimestamp(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data);
        long s = 0; int n = 0;
        while (!r.End)
        {
            var (f, w) = r.ReadTag();
            if (f == 1 && w == 0) s = (long)r.ReadVarint();
            else if (f == 2 && w == 0) n = (int)r.ReadVarint();
            else r.Skip(w);
        }
        return (s, n);
    }

    private (IpAddr, IpAddr) ReadIp(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data);
        IpAddr s = default, d = default;
        while (!r.End)
        {
            var (f, w) = r.ReadTag();
            if (f == 1 && w == 2) s = Ip(r.ReadBytes());
            else if (f == 2 && w == 2) d = Ip(r.ReadBytes());
            else r.Skip(w);
        }
        return (s, d);
    }

    // IPv6 text goes through IPAddress, which allocates; interned by its bytes, a recurring address costs a hash instead.
    private IpAddr Ip(ReadOnlySpan<byte> text) => text.IndexOf((byte)':') < 0 ? ParseIp(text) : _ipv6.Get(text).Value;

    private sealed record IpBox(IpAddr Value);

    private readonly Utf8Interner<IpBox> _ipv6 = new(b => new IpBox(ParseIp(b)), 1 << 12);

    /// <summary>Dotted quads parsed from the bytes by hand; IPv6 through IPAddress.</summary>
    internal static IpAddr ParseIp(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty || text.Length > 64) return default;
        uint value = 0; int part = 0, digits = 0, dots = 0;
        var v4 = true;
        foreach (var c in text)
        {
            if (c == '.')
            {
                if (digits == 0 || ++dots > 3) { v4 = false; break; }
                value = value << 8 | (uint)part; part = 0; digits = 0;
            }
            else if (c is >= (byte)'0' and <= (byte)'9')
            {
                part = part * 10 + (c - '0');
                if (++digits > 3 || part > 255) { v4 = false; break; }
            }
            else { v4 = false; break; }
        }
        if (v4 && digits > 0 && dots == 3) return IpAddr.FromV4(value << 8 | (uint)part);
        if (text.IndexOf((byte)':') < 0) return default;
        Span<char> chars = stackalloc char[text.Length];
        for (var i = 0; i < text.Length; i++) chars[i] = (char)text[i];
        return IPAddress.TryParse(chars, out var address) ? IpAddr.From(address) : default;
    }

    private static L4 ReadL4(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data);
        L4 result = default;
        while (!r.End)
        {
            var (f, w) = r.ReadTag();
            if (w != 2 || f is < 1 or > 5) { r.Skip(w); continue; }
            var inner = new WireReader(r.ReadBytes());
            uint a = 0, b = 0; var flags = TcpFlags.None;
            while (!inner.End)
            {
                var (g, x) = inner.ReadTag();
                if (g == 1 && x == 0) a = (uint)inner.ReadVarint();
                else if (g == 2 && x == 0) b = (uint)inner.ReadVarint();
                else if (g == 3 && x == 2 && f == 1) flags = ReadFlags(inner.ReadBytes());
                else inner.Skip(x);
            }
            // Later oneof members replace earlier ones, as in the generated parser.
            result = f switch
            {
                1 => new L4(L4Protocol.Tcp, (ushort)a, (ushort)b, flags, 0, 0),
                2 => new L4(L4Protocol.Udp, (ushort)a, (ushort)b, 0, 0, 0),
                3 => new L4(L4Protocol.Icmpv4, 0, 0, 0, (byte)a, (byte)b),
                4 => new L4(L4Protocol.Icmpv6, 0, 0, 0, (byte)a, (byte)b),
                _ => new L4(L4Protocol.Sctp, (ushort)a, (ushort)b, 0, 0, 0),
            };
        }
        return result;
    }

    private static TcpFlags ReadFlags(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data);
        var flags = TcpFlags.None;
        while (!r.End)
        {
            var (f, w) = r.ReadTag();
            if (w == 0 && f is >= 1 and <= 9)
            {
                var bit = (TcpFlags)(1 << (f - 1));
                flags = r.ReadVarint() != 0 ? flags | bit : flags & ~bit;
            }
            else r.Skip(w);
        }
        return flags;
    }

    private static (int, int) ReadEventType(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data);
        int t = 0, s = 0;
        while (!r.End)
        {
            var (f, w) = r.ReadTag();
            if (f == 1 && w == 0) t = (int)r.ReadVarint();
            else if (f == 2 && w == 0) s = (int)r.ReadVarint();
            else r.Skip(w);
        }
        return (t, s);
    }

    private static bool ReadBoolValue(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data);
        var v = false;
        while (!r.End)
        {
            var (f, w) = r.ReadTag();
            if (f == 1 && w == 0) v = r.ReadVarint() != 0;
            else r.Skip(w);
        }
        return v;
    }

    private FlowEndpoint EndpointOf(ReadOnlySpan<byte> data) => data.IsEmpty ? FlowEndpoint.Empty : _endpoints.Get(data);

    private FlowEndpoint DecodeEndpoint(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data);
        uint identity = 0;
        string ns = "", pod = "", workload = "", kind = "", cluster = "";
        var hasWorkload = false;
        List<string>? labels = null;
        while (!r.End)
        {
            var (f, w) = r.ReadTag();
            switch (f)
            {
                case 2 when w == 0: identity = (uint)r.ReadVarint(); break;
                case 3 when w == 2: ns = _strings.Get(r.ReadBytes()); break;
                case 4 when w == 2: (labels ??= []).Add(_strings.Get(r.ReadBytes())); break;
                case 5 when w == 2: pod = _strings.Get(r.ReadBytes()); break;
                case 7 when w == 2: cluster = _strings.Get(r.ReadBytes()); break;
                case 6 when w == 2:
                    var wr = new WireReader(r.ReadBytes());
                    string name = "", k = "";
                    while (!wr.End)
                    {
                        var (g, x) = wr.ReadTag();
                        if (g == 1 && x == 2) name = _strings.Get(wr.ReadBytes());
                        else if (g == 2 && x == 2) k = _strings.Get(wr.ReadBytes());
                        else wr.Skip(x);
                    }
                    if (!hasWorkload) { workload = name; kind = k; hasWorkload = true; }
                    break;
                default: r.Skip(w); break;
            }
        }
        if (identity == 0 && pod.Length == 0 && ns.Length == 0 && labels is null) return FlowEndpoint.Empty;
        if (!hasWorkload) workload = pod.Length == 0 ? "" : StringPool.Shared.Intern(Workloads.Infer(pod, labels ?? []));
        return new FlowEndpoint(identity, ns, pod, workload, kind) { Labels = EndpointLabels.Of(labels), Cluster = cluster };
    }

    private ServiceRef ServiceOf(ReadOnlySpan<byte> data) => data.IsEmpty ? default : _services.Get(data).Value;

    private ServiceRef DecodeService(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data);
        string name = "", ns = "";
        while (!r.End)
        {
            var (f, w) = r.ReadTag();
            if (f == 1 && w == 2) name = _strings.Get(r.ReadBytes());
            else if (f == 2 && w == 2) ns = _strings.Get(r.ReadBytes());
            else r.Skip(w);
        }
        return name.Length == 0 ? default : new ServiceRef(ns, name);
    }

    /// <summary>A flow's L7 part as read, before it goes into the record's (possibly reused) <see cref="L7Record"/>.</summary>
    private readonly record struct L7Parts(bool Present, L7Kind Kind, long LatencyNanos, DnsRecord? Dns, HttpRecord? Http);

    private static L7Record Fill(L7Record l7, L7Parts parts)
    {
        l7.Set(parts.Kind, parts.LatencyNanos, parts.Dns, parts.Http);
        return l7;
    }

    private L7Parts ReadL7(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data);
        int type = 0; ulong latency = 0;
        DnsRecord? dns = null; HttpRecord? http = null;
        while (!r.End)
        {
            var (f, w) = r.ReadTag();
            switch (f)
            {
                case 1 when w == 0: type = (int)r.ReadVarint(); break;
                case 2 when w == 0: latency = r.ReadVarint(); break;
                // Interned by their bytes: records are immutable, and the same lookup or request recurs on many flows.
                case 100 when w == 2: dns = _dns.Get(r.ReadBytes()); http = null; break;
                case 101 when w == 2: http = _http.Get(r.ReadBytes()); dns = null; break;
                case 102 when w == 2: r.ReadBytes(); dns = null; http = null; break;
                default: r.Skip(w); break;
            }
        }
        return new L7Parts(true, (L7Kind)type, (long)latency, dns, http);
    }

    private DnsRecord ReadDns(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data);
        string query = "", qtype = "";
        int rcode = 0, ips = 0;
        var haveQtype = false;
        while (!r.End)
        {
            var (f, w) = r.ReadTag();
            switch (f)
            {
                case 1 when w == 2: query = _strings.Get(r.ReadBytes()); break;
                case 2 when w == 2: r.ReadBytes(); ips++; break;
                case 6 when w == 0: rcode = (int)(uint)r.ReadVarint(); break;
                case 7 when w == 2:
                    var q = r.ReadBytes();
                    if (!haveQtype) { qtype = _strings.Get(q); haveQtype = true; }
                    break;
                default: r.Skip(w); break;
            }
        }
        return new DnsRecord(query, rcode, qtype, ips);
    }

    private HttpRecord ReadHttp(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data);
        int code = 0; string method = "", url = "";
        while (!r.End)
        {
            var (f, w) = r.ReadTag();
            switch (f)
            {
                case 1 when w == 0: code = (int)(uint)r.ReadVarint(); break;
                case 2 when w == 2: method = _strings.Get(r.ReadBytes()); break;
                case 3 when w == 2: url = System.Text.Encoding.UTF8.GetString(r.ReadBytes()); break;
                default: r.Skip(w); break;
            }
        }
        return new HttpRecord(code, method, url);
    }
}
