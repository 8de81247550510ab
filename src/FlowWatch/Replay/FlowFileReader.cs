using System.IO.Compression;
using System.Text;
using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Observer;
using Google.Protobuf;
using PbFlow = FlowWatch.Hubble.Proto.Flow.Flow;

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
    // Every Cilium release adds fields (emitter, trace_reason, node_labels, ...): skip what we do not declare.
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

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
        var trimmed = line.AsSpan().TrimStart();
        if (trimmed.IsEmpty || trimmed[0] != '{') return Bad(lineNumber, "not a JSON object");
        try
        {
            var response = Parser.Parse<GetFlowsResponse>(line);
            switch (response.ResponseTypesCase)
            {
                case GetFlowsResponse.ResponseTypesOneofCase.Flow:
                    return new RecordedItem(converter.Convert(response.Flow, NodeOr(response.NodeName, fallbackNode)), null, 0, null);
                case GetFlowsResponse.ResponseTypesOneofCase.LostEvents:
                    return new RecordedItem(null, ProtoEnumNames<FlowWatch.Hubble.Proto.Flow.LostEventSource>.Of(response.LostEvents.Source), response.LostEvents.NumEventsLost, null);
                case GetFlowsResponse.ResponseTypesOneofCase.NodeStatus:
                    return default;
            }
            // `hubble observe -o json` writes the Flow itself.
            var flow = Parser.Parse<PbFlow>(line);
            if (flow.Time is null && flow.IP is null && flow.L4 is null && flow.Verdict == 0)
                return Bad(lineNumber, "JSON object holds no flow (no time, IP, l4 or verdict)");
            return new RecordedItem(converter.Convert(flow, fallbackNode), null, 0, null);
        }
        catch (InvalidProtocolBufferException e) { return Bad(lineNumber, Short(e.Message)); }
        catch (InvalidJsonException e) { return Bad(lineNumber, "invalid JSON: " + Short(e.Message)); }
        catch (FormatException e) { return Bad(lineNumber, Short(e.Message)); }
        catch (InvalidOperationException e) { return Bad(lineNumber, Short(e.Message)); }
    }

    private static string? NodeOr(string node, string? fallback) => node.Length != 0 ? node : fallback;

    private static RecordedItem Bad(long line, string reason) => new(null, null, 0, new BadLine(line, reason));

    private static string Short(string message) => message.Length <= 200 ? message : message[..200] + "…";
}
