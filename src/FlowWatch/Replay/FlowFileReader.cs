using FlowWatch.Flows;
using FlowWatch.Hubble;
using System.Buffers;
using System.Text;
using FlowWatch.Flows.Json;

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
    // One decoder (and its intern tables) per thread that reads, shared by every file that thread reads.
    private readonly ThreadLocal<FlowJsonDecoder> _decoder = new(() => new FlowJsonDecoder(converter.Pool));

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
        var trimmed = line.Trim(" \t\r"u8);
        if (trimmed.IsEmpty) return default;
        return ParseLine(trimmed, lineNumber, fallbackNode);
    }

    public RecordedItem ParseLine(string line, long lineNumber, string? fallbackNode = null)
    {
        if (line.Length > maxLineBytes)
            return Bad(lineNumber, $"line is {line.Length} characters, over the {maxLineBytes}-byte limit");
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(line.Length));
        try { return ParseLine(buffer.AsSpan(0, Encoding.UTF8.GetBytes(line, buffer)), lineNumber, fallbackNode); }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    /// <summary>One line's UTF-8 bytes (without its newline) to a flow, a lost-events notice, nothing (node status) or a bad line.</summary>
    public RecordedItem ParseLine(ReadOnlySpan<byte> line, long lineNumber, string? fallbackNode = null)
    {
        var trimmed = line.TrimStart(" \t\r\n"u8);
        if (trimmed.IsEmpty || trimmed[0] != '{') return Bad(lineNumber, "not a JSON object");
        try
        {
            var decoded = _decoder.Value!.Decode(line, fallbackNode);
            return decoded.Kind switch
            {
                ResponseKind.Flow => Problem(decoded.Flow!) is { } problem ? Bad(lineNumber, problem) : new RecordedItem(decoded.Flow, null, 0, null),
                ResponseKind.LostEvents => new RecordedItem(null, LostEventSourceNames.Of(decoded.LostSource), decoded.LostCount, null),
                _ => default,
            };
        }
        catch (FormatException e) { return Bad(lineNumber, Short(e.Message)); }
        catch (OverflowException e) { return Bad(lineNumber, Short(e.Message)); }
        catch (ArgumentOutOfRangeException e) { return Bad(lineNumber, Short(e.Message)); }
    }

    /// <summary>Why a decoded flow cannot be used, or null: no fields at all, or a time before 1970 (it would wrap).</summary>
    private static string? Problem(FlowRecord flow)
    {
        if (flow.TimeNanos == 0 && flow.SourceIp.IsNone && flow.DestinationIp.IsNone && flow.Verdict == Verdict.Unknown && flow.Protocol == L4Protocol.None)
            return "JSON object holds no flow (no time, IP, l4 or verdict)";
        if (flow.TimeNanos < 0)
            return "time is outside 1970-01-01..2262-04-11, which FlowWatch cannot represent";
        return null;
    }

    private static RecordedItem Bad(long line, string reason) => new(null, null, 0, new BadLine(line, reason));

    private static string Short(string message) => message.Length <= 200 ? message : message[..200] + "…";
}
