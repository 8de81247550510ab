using System.Text.Json;
using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Replay;
using FlowWatch.Simulation;
using FlowWatch.Tests.Support;
using Google.Protobuf;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Simulation;

/// <summary>Generated flows read like Hubble's own: as JSON (hubble observe -o jsonpb) and as wire bytes.</summary>
public sealed class FlowJsonTests(ITestOutputHelper output)
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true));

    private static readonly Lazy<List<GetFlowsResponse>> Batch = new(() => SimFlows.Batch(ScenarioSet.All, TimeSpan.FromSeconds(10)));

    [Fact]
    public void GeneratedFlows_SurviveJsonLikeCorpusLines_AndConvertToTheSameRecords()
    {
        var reader = new FlowFileReader(new FlowConverter(new StringPool()));
        var direct = new FlowConverter(new StringPool());
        var batch = Batch.Value;
        for (var i = 0; i < batch.Count; i++)
        {
            var line = Formatter.Format(batch[i]);
            if (i < 3) output.WriteLine(line);
            var item = reader.ParseLine(line, i + 1);
            Assert.Null(item.Bad);
            Assert.Equal(Describe(direct.Convert(batch[i].Flow)), Describe(item.Flow!));
        }
    }

    [Fact]
    public void GeneratedFlows_DecodeFromWireBytes_AsTheGeneratedParserReadsThem()
    {
        var decoder = new FlowWireDecoder(new StringPool());
        var converter = new FlowConverter(new StringPool());
        foreach (var response in Batch.Value)
        {
            var decoded = decoder.Decode(response.ToByteArray());
            Assert.Equal(ResponseKind.Flow, decoded.Kind);
            Assert.Equal(response.NodeName, decoded.NodeName);
            Assert.Equal(Describe(converter.Convert(response.Flow)), Describe(decoded.Flow!));
        }
    }

    [SkippableFact]
    public void GeneratedJson_UsesOnlyFieldPathsRealHubbleFlowsUse()
    {
        TestPaths.RequireCorpus();
        var real = new HashSet<string>();
        foreach (var file in TestPaths.CorpusFiles.Where(f => f.EndsWith(".jsonl")))
            foreach (var line in File.ReadLines(file).Where(l => l.Length > 0))
                Paths(JsonDocument.Parse(line).RootElement, "", real);
        var ours = new HashSet<string>();
        foreach (var r in Batch.Value) Paths(JsonDocument.Parse(Formatter.Format(r)).RootElement, "", ours);
        var foreign = ours.Except(real).Except(DeclaredButNotInCorpus).Order().ToList();
        output.WriteLine($"{ours.Count} field paths generated, {real.Count} in the corpus");
        Assert.True(foreign.Count == 0, "not in any real recording: " + string.Join(", ", foreign));
    }

    // Fields of Cilium's flow.proto the recordings happen not to show (no services, no RST, workloads only on a source).
    private static readonly string[] DeclaredButNotInCorpus =
    [
        "flow.destination.workloads", "flow.destination.workloads[].kind", "flow.destination.workloads[].name",
        "flow.source_service", "flow.source_service.name", "flow.source_service.namespace",
        "flow.destination_service", "flow.destination_service.name", "flow.destination_service.namespace",
        "flow.drop_reason", "flow.l4.TCP.flags.RST",
    ];

    private static void Paths(JsonElement e, string prefix, HashSet<string> into)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    var path = prefix.Length == 0 ? p.Name : prefix + "." + p.Name;
                    into.Add(path);
                    Paths(p.Value, path, into);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in e.EnumerateArray()) Paths(item, prefix + "[]", into);
                break;
        }
    }

    internal static string Describe(FlowRecord f) =>
        $"{f.TimeNanos} {f.Uuid} {f.NodeName} {f.Verdict} {f.DropReason} {f.Kind} {f.EventType}/{f.EventSubType} " +
        $"{f.SourceIp}:{f.SourcePort} > {f.DestinationIp}:{f.DestinationPort} {f.Protocol} {f.TcpFlags} {f.IcmpType}/{f.IcmpCode} " +
        $"{f.Source} {f.Destination} {f.SourceService} {f.DestinationService} {f.Reply} {f.Direction} {f.ObservationPoint} " +
        $"{f.L7?.Kind} {f.L7?.LatencyNanos} {f.L7?.Dns} {f.L7?.Http}";
}
