using System.Buffers;
using System.IO.Compression;
using System.Text;
using FlowWatch.Flows;
using FlowWatch.Flows.Json;
using FlowWatch.Hubble.Proto.Flow;

namespace FlowWatch.Replay;

/// <summary>One item read from a recording: a flow, Hubble's lost-events notice, or a line that could not be read.</summary>
public readonly record struct RecordedItem(FlowRecord? Flow, string? LostSource, ulong LostCount, BadLine? Bad);

/// <summary>A line of a recording that could not be used, with its number and why.</summary>
public sealed record BadLine(long LineNumber, string Reason);

/// <summary>
/// Reads what <c>hubble observe -o jsonpb</c> writes (a <c>GetFlowsResponse</c> a line) and <c>-o json</c>
/// (a bare <c>Flow</c> a line), plain or gzip. A bad line is reported with its number and skipped;
/// no good line is lost.
/// </summary>
public sealed class FlowFileReader(FlowConverter converter, int maxLineBytes = 1 << 20)
{
    // One decoder (and its intern tables) per thread that reads, shared by every file that thread reads.
    private readonly ThreadLocal<FlowJsonDecoder> _decoder = new(() => new FlowJsonDecoder(converter.Pool));

    public static Stream Open(string path)
    {
        var file = File.OpenRead(path);
        var b0 = file.ReadByte();
        var b1 = file.ReadByte();
        file.Position = 0;
        return b0 == 0x1f && b1 == 0x8b ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    public IEnumerable<RecordedItem> Read(string path, string? fallbackNode = null)
    {
        using var stream = Open(path);
        foreach (var item in Read(stream, fallbackNode)) yield return item;
    }

    public IEnumerable<RecordedItem> Read(Stream stream, string? fallbackNode = null)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        long lineNumber = 0;
        while (true)
        {
            string? line;
            string? failure = null;
            try { line = reader.ReadLine(); }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                line = null;
                failure = e.Message;
            }
            if (failure is not null)
            {
                // A truncated gzip stream ends the file; everything before it was delivered.
                yield return new RecordedItem(null, null, 0, new BadLine(lineNumber + 1, "unreadable input: " + failure));
                yield break;
            }
            if (line is null) yield break;
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return ParseLine(line, lineNumber, fallbackNode);
        }
    }

    public RecordedItem ParseLine(string line, long lineNumber, string? fallbackNode = null)
    {
        if (line.Length > maxLineBytes)
            return Bad(lineNumber, $"line is {line.Length} characters, over the {maxLineBytes} limit");
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
                ResponseKind.Flow => new RecordedItem(decoded.Flow, null, 0, null),
                ResponseKind.LostEvents => new RecordedItem(null, ProtoEnumNames<LostEventSource>.Of((LostEventSource)decoded.LostSource), decoded.LostCount, null),
                _ => default,
            };
        }
        catch (FormatException e) { return Bad(lineNumber, Short(e.Message)); }
    }

    private static RecordedItem Bad(long line, string reason) => new(null, null, 0, new BadLine(line, reason));

    private static string Short(string message) => message.Length <= 200 ? message : message[..200] + "…";
}
