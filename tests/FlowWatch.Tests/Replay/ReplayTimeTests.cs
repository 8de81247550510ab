using FlowWatch.Flows;
using FlowWatch.Pipeline;
using FlowWatch.Replay;

namespace FlowWatch.Tests.Replay;

/// <summary>Replays with badly stamped flows: a lone 2099 stamp, a node whose clock is ten minutes behind.</summary>
public sealed class ReplayTimeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-replay-time-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Line(DateTimeOffset t, string node) =>
        $$$"""{"flow":{"time":"{{{t.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}}}","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"}},"node_name":"{{{node}}}"}""";

    private sealed class Collect : IFlowSink
    {
        public List<FlowRecord> Flows { get; } = [];
        public void Add(FlowRecord flow) => Flows.Add(flow);
    }

    private static readonly DateTimeOffset T0 = new(2026, 2, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A2099Flow_AmidNormalOnes_NeitherMovesEventTimeNorStallsItsFile_StoredAndReported()
    {
        var a = Path.Combine(_dir, "a.jsonl");
        var b = Path.Combine(_dir, "b.jsonl");
        var lines = Enumerable.Range(0, 20).Select(i => Line(T0.AddSeconds(i), "a")).ToList();
        lines.Insert(10, Line(new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero), "a"));
        File.WriteAllLines(a, lines);
        File.WriteAllLines(b, Enumerable.Range(0, 20).Select(i => Line(T0.AddSeconds(i).AddMilliseconds(500), "b")));
        var sink = new Collect();
        using var pipeline = new FlowPipeline([], Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()), [sink]);

        var summary = new ReplayRunner(pipeline, new FlowFileReader(new FlowConverter())) { Drain = TimeSpan.Zero }.Run([a, b]);

        Assert.Equal(41, summary.FlowsRead);
        Assert.Equal(1, summary.FarFuture);
        Assert.Equal(0, summary.Late);
        Assert.Equal(T0.AddSeconds(19).AddMilliseconds(500), pipeline.Now);
        Assert.Equal(T0.AddSeconds(19).AddMilliseconds(500), summary.Last);
        Assert.Equal(41, sink.Flows.Count);
        Assert.Contains(sink.Flows, f => f.Time.Year == 2099);
        // The merge kept both files interleaved: a's flows after the bad stamp were not held back behind b.
        var order = sink.Flows.Where(f => f.Time.Year != 2099).Select(f => f.Time).ToList();
        Assert.Equal(order.OrderBy(t => t), order);
        Assert.Contains("1 far in the future", summary.ToText());
    }

    [Fact]
    public void ANodeTenMinutesBehind_LiveShaped_IsCountedAsFarPast_EventTimeFollowsTheOthers()
    {
        // One Relay recording: node b's clock is ten minutes behind, its flows arrive interleaved with a's.
        var file = Path.Combine(_dir, "relay.jsonl");
        var lines = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            lines.Add(Line(T0.AddSeconds(i), "a"));
            lines.Add(Line(T0.AddSeconds(i).AddMinutes(-10), "b"));
        }
        File.WriteAllLines(file, lines);
        var sink = new Collect();
        using var pipeline = new FlowPipeline([], Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()), [sink]);

        var summary = new ReplayRunner(pipeline, new FlowFileReader(new FlowConverter())) { Drain = TimeSpan.Zero }.Run([file]);

        Assert.Equal(60, summary.FlowsRead);
        Assert.Equal(60, sink.Flows.Count);
        Assert.True(summary.FarPast >= 29, $"far past {summary.FarPast}");
        Assert.Equal(T0.AddSeconds(29), pipeline.Now);
        Assert.Equal(T0.AddSeconds(29), summary.Last);
        Assert.Contains("far in the past", summary.ToText());
    }

    [Fact]
    public void Live_AFlowAheadOfTheWallClock_IsBadTime_AndEventTimeStays()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var sink = new Collect();
        using var pipeline = new FlowPipeline([], Prometheus.Metrics.WithCustomRegistry(registry), [sink]) { Live = true };
        var now = DateTimeOffset.UtcNow;
        pipeline.Process(new FlowRecord { TimeNanos = FlowRecord.ToNanos(now) });
        pipeline.Process(new FlowRecord { TimeNanos = FlowRecord.ToNanos(now.AddMinutes(10)) });
        pipeline.Process(new FlowRecord { TimeNanos = FlowRecord.ToNanos(now.AddMilliseconds(100)) });

        Assert.Equal(1, pipeline.Stats.FarFuture);
        Assert.Equal(3, sink.Flows.Count);
        Assert.True(pipeline.Now < now.AddSeconds(1));
        using var stream = new MemoryStream();
        registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        Assert.Contains("flowwatch_bad_time_total{reason=\"far_future\"} 1", System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}
