using FlowWatch.Flows;
using FlowWatch.Hubble;
using FlowWatch.Hubble.Proto.Observer;
using Google.Protobuf;
using PbFlow = FlowWatch.Hubble.Proto.Flow.Flow;

namespace FlowWatch.Replay;

/// <summary>One item read from a recording: a flow, Hubble's lost-events notice, or a line that could not be read.</summary>
public readonly record struct RecordedItem(FlowRecord? Flow, string? LostSource, ulong LostCount, BadLine? Bad);

/// <summary>A line of a recording that could not be used, with its number and why.</summary>
/// <param name="EndsInput">Nothing after this line could be read (cut or damaged gzip, a line that never ends, a read error).</param>
public sealed record BadLine(long LineNumber, string Reason, bool EndsInput = false);

/// <summary>
/// Reads what <c>hubble observe -o jsonpb</c> writes (a <c>GetFlowsResponse</c> a line) and <c>-o json</c>
/// (a bare <c>Flow</c> a line), plain or gzip, from a file, FIFO, pipe or stdin (<c>-</c>). A bad line is reported
/// with its number and skipped; no good line is lost. Input that cannot be read on (a cut or damaged gzip, a line
/// that never ends) is reported as the last bad line, with <see cref="BadLine.EndsInput"/> set.
/// </summary>
/// <remarks>
/// Framing and decoding are apart: <see cref="LineFramer"/> bounds each line while reading (never holding more than
/// <c>maxLineBytes</c> of it), and <see cref="DecodeLine"/> turns the bytes of one line into a flow or a bad line.
/// </remarks>
public sealed class FlowFileReader(FlowConverter converter, int maxLineBytes = 1 << 20)
{
    // Every Cilium release adds fields (emitter, trace_reason, node_labels, ...): skip what we do not declare.
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    /// <summary>Decompressed bytes a line without a newline may run to before the input is given up on (a gzip bomb is one endless line).</summary>
    public long RunawayLineBytes { get; init; } = 64L << 20;

    public static Stream Open(string path, CancellationToken ct = default) => RecordingInput.Open(path, ct);

    public IEnumerable<RecordedItem> Read(string path, string? fallbackNode = null, CancellationToken ct = default)
    {
        Stream stream;
        try { stream = RecordingInput.OpenRaw(path, ct); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [new RecordedItem(null, null, 0, new BadLine(1, $"unreadable input: {e.Message}", EndsInput: true))];
        }
        return ReadAndDispose(stream, fallbackNode);
    }

    private IEnumerable<RecordedItem> ReadAndDispose(Stream stream, string? fallbackNode)
    {
        using (stream)
            foreach (var item in Read(stream, fallbackNode)) yield return item;
    }

    /// <summary>Reads a raw recording stream (gzip and BOMs are recognised here); the caller disposes it.</summary>
    public IEnumerable<RecordedItem> Read(Stream raw, string? fallbackNode = null)
    {
        Stream stream;
        bool gzip;
        string? failure = null;
        try { stream = RecordingInput.Decode(raw, out gzip); }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            (stream, gzip, failure) = (Stream.Null, false, e.Message);
        }
        if (failure is not null)
        {
            yield return new RecordedItem(null, null, 0, new BadLine(1, $"unreadable input: {failure}", EndsInput: true));
            yield break;
        }
        // Only decompressed input is capped: a plain over-long line costs time to skip, never memory.
        var framer = new LineFramer(stream, maxLineBytes, gzip ? RunawayLineBytes : long.MaxValue);
        while (true)
        {
            var item = NextItem(framer, gzip, fallbackNode, out var done);
            if (item is { } value) yield return value;
            if (done) yield break;
        }
    }

    // Frames are ref structs: they cannot live across a yield, so each is turned into an item here.
    private RecordedItem? NextItem(LineFramer framer, bool gzip, string? fallbackNode, out bool done)
    {
        var frame = framer.Next();
        done = frame.Kind is FrameKind.End or FrameKind.Error;
        switch (frame.Kind)
        {
            case FrameKind.Line:
                var item = DecodeLine(frame.Bytes, frame.LineNumber, fallbackNode);
                return item.Flow is null && item.Bad is null && item.LostSource is null ? null : item;
            case FrameKind.TooLong:
                return Bad(frame.LineNumber, $"line is {frame.Length} bytes, over the {maxLineBytes}-byte limit");
            case FrameKind.Error:
                var error = frame.Error!;
                var reason = frame.Runaway
                    ? gzip ? $"gzip bomb: decompressed {error}" : error
                    : error.StartsWith("truncated gzip", StringComparison.Ordinal) || error.StartsWith("corrupt gzip", StringComparison.Ordinal)
                        ? $"{error}; stopped at line {frame.LineNumber}"
                        : $"unreadable input at line {frame.LineNumber}: {error}";
                return new RecordedItem(null, null, 0, new BadLine(frame.LineNumber, reason, EndsInput: true));
            default:
                return null;
        }
    }

    /// <summary>The one place a line becomes a record: the bytes of one line (no newline) to a flow, a lost-events notice, a bad line or nothing (blank, node status).</summary>
    public RecordedItem DecodeLine(ReadOnlySpan<byte> line, long lineNumber, string? fallbackNode = null)
    {
        var trimmed = line.Trim(" \t"u8);
        if (trimmed.IsEmpty) return default;
        if (trimmed[0] != (byte)'{') return Bad(lineNumber, "not a JSON object");
        return ParseLine(System.Text.Encoding.UTF8.GetString(trimmed), lineNumber, fallbackNode);
    }

    public RecordedItem ParseLine(string line, long lineNumber, string? fallbackNode = null)
    {
        if (line.Length > maxLineBytes)
            return Bad(lineNumber, $"line is {line.Length} characters, over the {maxLineBytes} limit");
        var trimmed = line.AsSpan().TrimStart();
        if (trimmed.IsEmpty || trimmed[0] != '{') return Bad(lineNumber, "not a JSON object");
        try
        {
            var response = Parser.Parse<GetFlowsResponse>(line);
            switch (response.ResponseTypesCase)
            {
                case GetFlowsResponse.ResponseTypesOneofCase.Flow:
                    return Problem(response.Flow) is { } problem
                        ? Bad(lineNumber, problem)
                        : new RecordedItem(converter.Convert(response.Flow, NodeOr(response.NodeName, fallbackNode)), null, 0, null);
                case GetFlowsResponse.ResponseTypesOneofCase.LostEvents:
                    return new RecordedItem(null, LostEventSourceNames.Of(response.LostEvents.Source), response.LostEvents.NumEventsLost, null);
                case GetFlowsResponse.ResponseTypesOneofCase.NodeStatus:
                    return default;
            }
            // `hubble observe -o json` writes the Flow itself.
            var flow = Parser.Parse<PbFlow>(line);
            return Problem(flow) is { } bad ? Bad(lineNumber, bad) : new RecordedItem(converter.Convert(flow, fallbackNode), null, 0, null);
        }
        catch (InvalidProtocolBufferException e) { return Bad(lineNumber, Short(e.Message)); }
        catch (InvalidJsonException e) { return Bad(lineNumber, "invalid JSON: " + Short(e.Message)); }
        catch (FormatException e) { return Bad(lineNumber, Short(e.Message)); }
        catch (InvalidOperationException e) { return Bad(lineNumber, Short(e.Message)); }
    }

    /// <summary>Latest flow time a stored nanosecond count can hold (2262-04-11).</summary>
    private const long MaxSeconds = long.MaxValue / 1_000_000_000 - 1;

    /// <summary>Why a parsed flow cannot be used, or null: no fields at all, or a time outside 1970..2262 (it would wrap).</summary>
    private static string? Problem(PbFlow flow)
    {
        if (flow.Time is null && flow.IP is null && flow.L4 is null && flow.Verdict == 0)
            return "JSON object holds no flow (no time, IP, l4 or verdict)";
        if (flow.Time is { } t && (t.Seconds < 0 || t.Seconds > MaxSeconds || t.Nanos is < 0 or > 999_999_999))
            return $"time {t.Seconds}s {t.Nanos}ns is outside 1970-01-01..2262-04-11, which FlowWatch cannot represent";
        return null;
    }

    private static string? NodeOr(string node, string? fallback) => node.Length != 0 ? node : fallback;

    private static RecordedItem Bad(long line, string reason) => new(null, null, 0, new BadLine(line, reason));

    private static string Short(string message) => message.Length <= 200 ? message : message[..200] + "…";
}
