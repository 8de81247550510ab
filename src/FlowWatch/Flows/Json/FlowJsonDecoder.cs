using System.Text;
using System.Text.Json;
using FlowWatch.Hubble.Proto.Observer;
using PbFlow = FlowWatch.Hubble.Proto.Flow.Flow;

namespace FlowWatch.Flows.Json;

/// <summary>
/// Decodes one line of <c>hubble observe -o jsonpb</c> (a <c>GetFlowsResponse</c>) or <c>-o json</c> (a bare <c>Flow</c>)
/// straight from its UTF-8 bytes into a <see cref="FlowRecord"/>, reading only the fields FlowWatch uses and skipping
/// the rest, with names, endpoints and services interned from their bytes.
/// </summary>
/// <remarks>
/// It must agree field by field with Google.Protobuf's JSON parser followed by <see cref="FlowConverter"/> on every
/// line that parser accepts (tests check every corpus line and fuzzed lines). It is more lenient in one way only:
/// fields FlowWatch does not read (ethernet, Summary, node_labels, ...) are skipped without checking their types, so a
/// malformed field nobody reads does not cost the flow. Not thread-safe: one per decoding thread.
/// </remarks>
public sealed partial class FlowJsonDecoder
{
    private static readonly JsonNames ResponseNames = JsonNames.Fields(GetFlowsResponse.Descriptor);
    private static readonly JsonNames FlowNames = JsonNames.Fields(PbFlow.Descriptor);
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 100 };

    private readonly StringPool _pool;
    private readonly Utf8StringInterner _strings;
    private readonly Utf8Interner<FlowEndpoint> _endpoints;
    private readonly Utf8Interner<ServiceBox> _services;
    private string? _lastFallback;
    private string _lastFallbackInterned = "";

    public FlowJsonDecoder(StringPool? pool = null)
    {
        _pool = pool ?? StringPool.Shared;
        _strings = new Utf8StringInterner(_pool, 1 << 16);
        // Keyed by the endpoint's JSON text: a repeated endpoint costs a skip, a hash and a compare.
        _endpoints = new Utf8Interner<FlowEndpoint>(DecodeEndpoint, 1 << 17);
        _services = new Utf8Interner<ServiceBox>(b => new ServiceBox(DecodeService(b)), 1 << 14);
    }

    /// <summary>
    /// Decodes one line; throws <see cref="FormatException"/>, with a reason fit for a bad-line report, when the line
    /// is not valid JSON or not a flow, lost-events notice or node status.
    /// </summary>
    public DecodedResponse Decode(ReadOnlySpan<byte> line, string? fallbackNode = null)
    {
        try { return DecodeTop(line, fallbackNode); }
        catch (Exception e) when (e is JsonException or InvalidOperationException && !System.Text.Unicode.Utf8.IsValid(line))
        {
            // The reference path reads lines as text, so invalid UTF-8 became U+FFFD before any JSON was parsed.
            return Guarded(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(line)), fallbackNode);
        }
        catch (JsonException e) { throw new FormatException("invalid JSON: " + e.Message, e); }
        catch (InvalidOperationException e) { throw new FormatException("invalid JSON string: " + e.Message, e); }
    }

    private DecodedResponse Guarded(ReadOnlySpan<byte> line, string? fallbackNode)
    {
        try { return DecodeTop(line, fallbackNode); }
        catch (JsonException e) { throw new FormatException("invalid JSON: " + e.Message, e); }
        catch (InvalidOperationException e) { throw new FormatException("invalid JSON string: " + e.Message, e); }
    }

    private DecodedResponse DecodeTop(ReadOnlySpan<byte> line, string? fallbackNode)
    {
        var r = new Utf8JsonReader(line, ReaderOptions);
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject) throw new FormatException("not a JSON object");
        var top = FlowFields.Create();
        var inner = FlowFields.Create();
        var oneof = ResponseKind.Other;
        var seenOneof = false;
        var nodeStatus = false;
        int lostSource = 0; ulong lostCount = 0;
        string? deferred = null;
        while (ReadProperty(ref r, out var name))
        {
            var field = ResponseNames.Find(name);
            switch (field)
            {
                case 1 or 2 or 3:
                    if (seenOneof) throw new FormatException("Multiple values specified for oneof response_types");
                    seenOneof = true;
                    r.Read();
                    if (r.TokenType == JsonTokenType.Null) { oneof = ResponseKind.Other; nodeStatus = false; break; }
                    if (r.TokenType != JsonTokenType.StartObject) throw new FormatException("Expected an object");
                    if (field == 1) { ReadFlow(ref r, line, ref inner); oneof = ResponseKind.Flow; }
                    else if (field == 3) { (lostSource, lostCount) = ReadLost(ref r); oneof = ResponseKind.LostEvents; }
                    else { r.Skip(); nodeStatus = true; }
                    break;
                // node_name and time mean the same to a GetFlowsResponse and to a bare Flow.
                case 1000: r.Read(); top.Node = String(ref r); break;
                case 1001: r.Read(); ReadFlowField(ref r, line, 1, ref top); break;
                default:
                    var flowField = FlowNames.Find(name);
                    if (flowField == 0) { r.Skip(); break; }
                    // A Flow field at the top matters only if the line turns out to be a bare Flow: a wrapper ignores it.
                    var before = r;
                    try { r.Read(); ReadFlowField(ref r, line, flowField, ref top); }
                    catch (FormatException e)
                    {
                        r = before;
                        r.Skip();
                        deferred ??= e.Message;
                    }
                    break;
            }
        }
        if (r.Read()) throw new FormatException("Expected end of JSON after object");
        switch (oneof)
        {
            case ResponseKind.Flow:
                return new DecodedResponse(ResponseKind.Flow, Build(ref inner, top.Node.Length != 0 ? top.Node : fallbackNode), 0, 0, top.Node);
            case ResponseKind.LostEvents:
                return new DecodedResponse(ResponseKind.LostEvents, null, lostSource, lostCount, top.Node);
        }
        if (nodeStatus) return new DecodedResponse(ResponseKind.Other, null, 0, 0, top.Node);
        // `hubble observe -o json` writes the Flow itself.
        if (deferred is not null) throw new FormatException(deferred);
        if (!top.HasTime && !top.HasIp && !top.HasL4 && top.Verdict == 0)
            throw new FormatException("JSON object holds no flow (no time, IP, l4 or verdict)");
        return new DecodedResponse(ResponseKind.Flow, Build(ref top, fallbackNode), 0, 0, top.Node);
    }

    /// <summary>Moves to the next property of the object the reader is in; false at its end. The name is unescaped.</summary>
    private static bool ReadProperty(ref Utf8JsonReader r, out ReadOnlySpan<byte> name)
    {
        r.Read();
        if (r.TokenType == JsonTokenType.EndObject) { name = default; return false; }
        name = r.ValueIsEscaped ? JsonValues.Unescaped(ref r) : r.ValueSpan;
        return true;
    }

    /// <summary>What a Flow object held, before it becomes a record.</summary>
    private struct FlowFields
    {
        public bool HasTime, HasIp, HasL4;
        public long TimeNanos;
        public string Uuid, Node;
        public Uuid128 UuidBits;
        public int Verdict, DropReason, DropReasonDesc, Type, EventType, EventSubType, Direction, Point, IsReply;
        public bool Reply;
        public IpAddr Source, Destination;
        public L4Fields L4;
        public FlowEndpoint SourceEndpoint, DestinationEndpoint;
        public ServiceRef SourceService, DestinationService;
        public L7Record? L7;

        public static FlowFields Create() => new()
        {
            Uuid = "", Node = "", IsReply = -1, SourceEndpoint = FlowEndpoint.Empty, DestinationEndpoint = FlowEndpoint.Empty,
        };
    }

    private void ReadFlow(ref Utf8JsonReader r, ReadOnlySpan<byte> line, ref FlowFields f)
    {
        while (ReadProperty(ref r, out var name))
        {
            var field = FlowNames.Find(name);
            if (field == 0) { r.Skip(); continue; }
            r.Read();
            ReadFlowField(ref r, line, field, ref f);
        }
    }

    /// <summary>One Flow field, the reader on its value; null clears the field, as in the reference parser.</summary>
    private void ReadFlowField(ref Utf8JsonReader r, ReadOnlySpan<byte> line, int field, ref FlowFields f)
    {
        var isNull = r.TokenType == JsonTokenType.Null;
        switch (field)
        {
            case 1:
                f.HasTime = !isNull;
                f.TimeNanos = isNull ? 0 : JsonValues.Timestamp(ref r);
                break;
            case 2: if (isNull) f.Verdict = 0; else JsonValues.Enum(ref r, Enums.Verdict, ref f.Verdict); break;
            case 3: f.DropReason = isNull ? 0 : (int)JsonValues.UInt32(ref r); break;
            case 5:
                f.HasIp = !isNull;
                (f.Source, f.Destination) = isNull ? default : ReadIp(ref r);
                break;
            case 6:
                f.HasL4 = !isNull;
                f.L4 = isNull ? default : ReadL4(ref r);
                break;
            case 8: f.SourceEndpoint = isNull ? FlowEndpoint.Empty : EndpointOf(ref r, line); break;
            case 9: f.DestinationEndpoint = isNull ? FlowEndpoint.Empty : EndpointOf(ref r, line); break;
            case 10: if (isNull) f.Type = 0; else JsonValues.Enum(ref r, Enums.FlowType, ref f.Type); break;
            case 11: f.Node = String(ref r); break;
            case 15: f.L7 = isNull ? null : ReadL7(ref r); break;
            case 16: f.Reply = !isNull && JsonValues.Bool(ref r); break;
            case 19: (f.EventType, f.EventSubType) = isNull ? default : ReadEventType(ref r); break;
            case 20: f.SourceService = isNull ? default : ServiceOf(ref r, line); break;
            case 21: f.DestinationService = isNull ? default : ServiceOf(ref r, line); break;
            case 22: if (isNull) f.Direction = 0; else JsonValues.Enum(ref r, Enums.Direction, ref f.Direction); break;
            case 24: if (isNull) f.Point = 0; else JsonValues.Enum(ref r, Enums.Point, ref f.Point); break;
            case 25: if (isNull) f.DropReasonDesc = 0; else JsonValues.Enum(ref r, Enums.DropReason, ref f.DropReasonDesc); break;
            case 26: f.IsReply = isNull ? -1 : JsonValues.Bool(ref r) ? 1 : 0; break;
            case 34: ReadUuid(ref r, ref f); break;
            default: r.Skip(); break;
        }
    }

    private void ReadUuid(ref Utf8JsonReader r, ref FlowFields f)
    {
        f.UuidBits = default;
        f.Uuid = "";
        if (r.TokenType == JsonTokenType.Null) return;
        var id = JsonValues.Unescaped(ref r);
        // Canonical ids stay 16 bytes until read; anything else is kept as text, as the generated parser would.
        if (!Uuid128.TryParse(id, out f.UuidBits)) f.Uuid = Encoding.UTF8.GetString(id);
    }

    /// <summary>An interned string field; null is "".</summary>
    private string String(ref Utf8JsonReader r)
    {
        if (r.TokenType == JsonTokenType.Null) return "";
        return _strings.Get(JsonValues.Unescaped(ref r));
    }

    private FlowRecord Build(ref FlowFields f, string? fallbackNode)
    {
        var dropReason = f.DropReasonDesc;
        if (dropReason == 0 && f.Verdict == (int)Verdict.Dropped) dropReason = f.DropReason;
        return new FlowRecord
        {
            TimeNanos = f.TimeNanos,
            Uuid = f.Uuid,
            UuidBits = f.UuidBits,
            NodeName = f.Node.Length != 0 ? f.Node : Fallback(fallbackNode),
            Verdict = (Verdict)f.Verdict,
            DropReason = dropReason,
            Kind = (FlowKind)f.Type,
            EventType = (byte)f.EventType,
            EventSubType = (byte)f.EventSubType,
            SourceIp = f.Source,
            DestinationIp = f.Destination,
            Protocol = f.L4.Protocol,
            SourcePort = f.L4.SourcePort,
            DestinationPort = f.L4.DestinationPort,
            TcpFlags = f.L4.Flags,
            IcmpType = f.L4.IcmpType,
            IcmpCode = f.L4.IcmpCode,
            Source = f.SourceEndpoint,
            Destination = f.DestinationEndpoint,
            SourceService = f.SourceService,
            DestinationService = f.DestinationService,
            Reply = f.IsReply == 1 ? ReplyState.Reply : f.IsReply == 0 ? ReplyState.Request : f.Reply ? ReplyState.Reply : ReplyState.Unknown,
            Direction = (TrafficDirection)f.Direction,
            ObservationPoint = (ObservationPoint)f.Point,
            L7 = f.L7,
        };
    }

    // One replayed file passes the same fallback (its name) for every line: intern it once, not once a line.
    private string Fallback(string? fallbackNode)
    {
        if (fallbackNode is null) return "";
        if (!ReferenceEquals(fallbackNode, _lastFallback))
        {
            _lastFallbackInterned = _pool.Intern(fallbackNode);
            _lastFallback = fallbackNode;
        }
        return _lastFallbackInterned;
    }
}
