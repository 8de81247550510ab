using FlowWatch.Flows;
using FlowWatch.Pipeline;
using FlowWatch.Replay;

namespace FlowWatch.Tests.Replay;

public sealed class ReplayRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-runner-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Line(int second, string node, string verdict = "FORWARDED") =>
        $$$"""{"flow":{"time":"2024-01-01T00:00:{{{second:D2}}}Z","verdict":"{{{verdict}}}","IP":{"source":"10.0.0.1","destination":"10.0.0.2"}},"node_name":"{{{node}}}"}""";

    private sealed class Collect : IFlowSink
    {
        public List<FlowRecord> Flows { get; } = [];
        public void Add(FlowRecord flow) => Flows.Add(flow);
    }

    [Fact]
    public void GoodLinesAllProcessed_BadLinesReportedWithNumbers_FilesMergedInEventTime()
    {
        var a = Path.Combine(_dir, "node-a.jsonl");
        var b = Path.Combine(_dir, "node-b.jsonl");
        File.WriteAllLines(a, [Line(1, "a"), "{broken", Line(3, "a", "DROPPED"), Line(5, "a")]);
        File.WriteAllLines(b, [Line(2, "b"), Line(4, "b"), "[]", Line(6, "b")]);
        var sink = new Collect();
        using var pipeline = new FlowPipeline([], Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()), [sink]);

        var summary = new ReplayRunner(pipeline, new FlowFileReader(new FlowConverter())).Run([a, b]);

        Assert.Equal(6, summary.FlowsRead);
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6 }, sink.Flows.Select(f => f.Time.Second));
        Assert.Equal(2, summary.BadLines);
        Assert.Equal(new long[] { 2, 3 }, summary.BadLineSamples.Select(x => x.LineNumber));
        Assert.Contains("node-a.jsonl", summary.BadLineSamples[0].Reason);
        Assert.Equal(1, summary.ByVerdict[Verdict.Dropped]);
        Assert.Equal(5, summary.ByVerdict[Verdict.Forwarded]);
        var text = summary.ToText();
        Assert.Contains("bad lines     2", text);
        Assert.Contains("line 2:", text);
    }
}
