using System.IO.Compression;
using System.Text;
using FlowWatch.Flows;
using FlowWatch.Replay;

namespace FlowWatch.Tests.Replay;

public sealed class FlowFileReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-replay-").FullName;

    private const string Good1 = """{"flow":{"time":"2024-01-01T00:00:01Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":1000,"destination_port":53}}},"node_name":"n1","time":"2024-01-01T00:00:01Z"}""";
    private const string Good2Bare = """{"time":"2024-01-01T00:00:02Z","verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","IP":{"source":"10.0.0.3","destination":"10.0.0.4"},"node_name":"n2"}""";
    private const string Lost = """{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"7"},"node_name":"n1"}""";

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string content, bool gzip = false)
    {
        var path = Path.Combine(_dir, name);
        if (!gzip) { File.WriteAllText(path, content); return path; }
        using var file = File.Create(path);
        using var z = new GZipStream(file, CompressionLevel.Fastest);
        z.Write(Encoding.UTF8.GetBytes(content));
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BadLinesAreReportedByNumber_AndNoGoodLineIsLost(bool gzip)
    {
        var lines = new[]
        {
            Good1,
            "this is not json",
            Good2Bare,
            """{"flow":{"time":"2024-01-01T00:00:03Z","verdict":42x}}""",        // broken JSON
            """{"flow":{"time":"not a time","verdict":"FORWARDED"}}""",           // wrong type
            Good1[..40],                                                          // truncated
            Lost,
            """{"flow":{"time":"2024-01-01T00:00:04Z","verdict":"FORWARDED","l4":{"TCP":{"source_port":"many"}}}}""", // wrong type
            "{}",
            Good1.Replace("00:00:01", "00:00:05"),
        };
        var path = Write(gzip ? "mixed.jsonl.gz" : "mixed.jsonl", string.Join("\n", lines) + "\n", gzip);

        var items = new FlowFileReader(new FlowConverter()).Read(path).ToList();

        var flows = items.Where(i => i.Flow is not null).Select(i => i.Flow!).ToList();
        Assert.Equal(3, flows.Count);
        Assert.Equal(new[] { 1L, 2, 5 }, flows.Select(f => f.Time.Second).Select(s => (long)s));
        Assert.Equal(Verdict.Dropped, flows[1].Verdict);
        Assert.Equal("POLICY_DENIED", flows[1].DropReasonName);
        Assert.Equal("n2", flows[1].NodeName);
        Assert.Equal(new long[] { 2, 4, 5, 6, 8, 9 }, items.Where(i => i.Bad is not null).Select(i => i.Bad!.LineNumber));
        var lost = Assert.Single(items, i => i.LostSource is not null);
        Assert.Equal("HUBBLE_RING_BUFFER", lost.LostSource);
        Assert.Equal(7UL, lost.LostCount);
    }

    [Fact]
    public void TruncatedGzip_DeliversEverythingBeforeTheCut()
    {
        var full = Write("full.jsonl.gz", string.Concat(Enumerable.Repeat(Good1 + "\n", 2000)), gzip: true);
        var bytes = File.ReadAllBytes(full);
        var cut = Path.Combine(_dir, "cut.jsonl.gz");
        File.WriteAllBytes(cut, bytes[..(bytes.Length - 10)]);

        var items = new FlowFileReader(new FlowConverter()).Read(cut).ToList();

        Assert.True(items.Count(i => i.Flow is not null) >= 1900);
        Assert.NotNull(items[^1].Bad);
    }

    [Fact]
    public void OversizedLine_IsRefusedByTheLimit()
    {
        var reader = new FlowFileReader(new FlowConverter(), maxLineBytes: 100);
        var item = reader.ParseLine(Good1, 1);
        Assert.NotNull(item.Bad);
        Assert.Contains("limit", item.Bad!.Reason);
    }
}
