using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Reliability;

/// <summary>Hostile recordings into the built <c>flowwatch replay</c>: every input is bounded while it is read, damage is
/// reported as what it is with the line it stopped at and exit code 4, pipes, FIFOs and stdin work, SIGTERM is honoured.</summary>
public sealed class ReplayInputTests(ITestOutputHelper output) : IDisposable
{
    private const long MemoryBound = 400L << 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-replay-input-").FullName;

    private static string Line(int i) =>
        "{\"flow\":{\"time\":\"2026-12-01T10:00:" + (i % 60).ToString("00", System.Globalization.CultureInfo.InvariantCulture) +
        "Z\",\"uuid\":\"u" + i + "\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"}," +
        "\"l4\":{\"TCP\":{\"source_port\":" + (1000 + i) + ",\"destination_port\":80}}},\"node_name\":\"n1\"}";

    private static string Lines(int count) => string.Concat(Enumerable.Range(0, count).Select(i => Line(i) + "\n"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static async Task<(int Code, JsonElement Report, string Stderr, long Peak)> Replay(string file, Func<Stream, Task>? stdin = null)
    {
        await using var cli = CliProcess.Start("replay", file, "--format", "json");
        if (stdin is not null) await stdin(cli.Stdin);
        cli.Stdin.Close();
        var (code, stdout, stderr) = await cli.WaitAsync(Timeout);
        Assert.True(stdout.Length > 0, $"no report (exit {code}): {stderr}");
        return (code, JsonDocument.Parse(stdout).RootElement.Clone(), stderr, cli.PeakRssBytes);
    }

    private static long Flows(JsonElement report) => report.GetProperty("flows_read").GetInt64();
    private static long BadLines(JsonElement report) => report.GetProperty("bad_lines").GetInt64();
    private static string BadReasons(JsonElement report) =>
        string.Join(" | ", report.GetProperty("bad_line_samples").EnumerateArray().Select(b => $"line {b.GetProperty("line_number")}: {b.GetProperty("reason").GetString()}"));

    [Fact]
    public async Task LineOf200MB_IsRefusedWhileReading_WithoutHoldingIt()
    {
        var path = Path.Combine(_dir, "long.jsonl");
        await using (var f = File.Create(path))
        {
            await f.WriteAsync(Encoding.UTF8.GetBytes(Line(1) + "\n{\"flow\":{\"uuid\":\""));
            var chunk = new byte[1 << 20];
            Array.Fill(chunk, (byte)'x');
            for (var i = 0; i < 200; i++) await f.WriteAsync(chunk);
            await f.WriteAsync(Encoding.UTF8.GetBytes("\"}}\n" + Line(2) + "\n"));
        }
        var (code, report, stderr, peak) = await Replay(path);
        output.WriteLine($"200 MB line: exit {code}, peak RSS {peak >> 20} MB; {BadReasons(report)}");
        Assert.Equal(0, code);
        Assert.Equal(2, Flows(report));
        Assert.Equal(1, BadLines(report));
        Assert.Contains("line 2: line is 209715", BadReasons(report));
        Assert.True(peak < MemoryBound, $"peak RSS {peak >> 20} MB reading a 200 MB line (bound {MemoryBound >> 20} MB); {stderr}");
    }

    [Fact]
    public async Task GzipBomb_IsReportedAsSuch_InBoundedMemory_ExitCode4()
    {
        var path = Path.Combine(_dir, "bomb.jsonl.gz");
        await using (var f = File.Create(path))
        await using (var gz = new GZipStream(f, CompressionLevel.Fastest))
        {
            await gz.WriteAsync(Encoding.UTF8.GetBytes(Line(1) + "\n"));
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 512; i++) await gz.WriteAsync(zeros);
        }
        var (code, report, stderr, peak) = await Replay(path);
        output.WriteLine($"gzip bomb ({new FileInfo(path).Length >> 10} KiB → 512 MiB): exit {code}, peak RSS {peak >> 20} MB; {BadReasons(report)}");
        Assert.Equal(4, code);
        Assert.Equal(1, Flows(report));
        Assert.Contains("gzip bomb", BadReasons(report));
        Assert.True(peak < MemoryBound, $"peak RSS {peak >> 20} MB on a gzip bomb (bound {MemoryBound >> 20} MB); {stderr}");
    }

    [Fact]
    public async Task Stdin_AsDash_AndAsDevStdin_AreRead()
    {
        foreach (var name in new[] { "-", "/dev/stdin" })
        {
            var (code, report, stderr, _) = await Replay(name, async stdin => await stdin.WriteAsync(Encoding.UTF8.GetBytes(Lines(50))));
            Assert.True(code == 0, $"replay {name}: exit {code}: {stderr}");
            Assert.Equal(50, Flows(report));
        }
    }

    [Fact]
    public async Task GzipCutAtAFlushBoundary_IsReportedTruncated_WithTheLineItStoppedAt()
    {
        var path = Path.Combine(_dir, "cut.jsonl.gz");
        long cut;
        await using (var f = File.Create(path))
        {
            await using var gz = new GZipStream(f, CompressionLevel.Optimal, leaveOpen: true);
            await gz.WriteAsync(Encoding.UTF8.GetBytes(Lines(40)));
            await gz.FlushAsync();   // sync flush: the deflate stream so far ends on a block boundary
            cut = f.Length;
            await gz.WriteAsync(Encoding.UTF8.GetBytes(Lines(40)));
        }
        await using (var f = new FileStream(path, FileMode.Open)) f.SetLength(cut);
        var (code, report, _, _) = await Replay(path);
        output.WriteLine($"cut gzip: exit {code}; {BadReasons(report)}");
        Assert.Equal(4, code);
        Assert.Equal(40, Flows(report));
        Assert.Contains("truncated gzip", BadReasons(report));
        Assert.Contains("stopped at line 41", BadReasons(report));
    }

    [Fact]
    public async Task GzipWithABadCrc_IsReportedCorrupt_ExitCode4()
    {
        var path = Path.Combine(_dir, "crc.jsonl.gz");
        await using (var f = File.Create(path))
        await using (var gz = new GZipStream(f, CompressionLevel.Optimal))
            await gz.WriteAsync(Encoding.UTF8.GetBytes(Lines(5000)));
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[^8] ^= 0xFF;   // first byte of the trailer's CRC-32
        await File.WriteAllBytesAsync(path, bytes);
        var (code, report, _, _) = await Replay(path);
        output.WriteLine($"bad CRC: exit {code}; {BadReasons(report)}");
        Assert.Equal(4, code);
        Assert.True(Flows(report) > 0, "the lines before the damaged end are delivered");
        Assert.Contains("corrupt gzip", BadReasons(report));
        Assert.DoesNotContain("unsupported compression method", BadReasons(report));
    }

    [Theory]
    [InlineData("utf-16le")]
    [InlineData("utf-16be")]
    [InlineData("utf-8")]
    public async Task FileWithABom_IsRead(string encodingName)
    {
        var encoding = encodingName switch { "utf-16le" => Encoding.Unicode, "utf-16be" => Encoding.BigEndianUnicode, _ => new UTF8Encoding(true) };
        var path = Path.Combine(_dir, $"bom-{encodingName}.jsonl");
        await File.WriteAllTextAsync(path, Lines(10), encoding);
        var (code, report, _, _) = await Replay(path);
        Assert.Equal(0, code);
        Assert.Equal(10, Flows(report));
        Assert.Equal(0, BadLines(report));
    }

    [Fact]
    public async Task Utf16BomBeforeUtf8Text_IsDropped_AndTheTextRead()
    {
        var path = Path.Combine(_dir, "bom-mixed.jsonl");
        await File.WriteAllBytesAsync(path, [0xFF, 0xFE, .. Encoding.UTF8.GetBytes(Lines(10))]);
        var (code, report, _, _) = await Replay(path);
        Assert.Equal(0, code);
        Assert.Equal(10, Flows(report));
        Assert.Equal(0, BadLines(report));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    [Fact]
    public async Task FifoWithNoWriter_HonoursSigterm()
    {
        var fifo = Path.Combine(_dir, "fifo");
        Assert.Equal(0, mkfifo(fifo, 0x180));
        await using var cli = CliProcess.Start("replay", fifo, "--quiet");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!cli.BlockedIn("wait_for_partner"))
        {
            Assert.True(DateTime.UtcNow < deadline, "replay never blocked opening the FIFO");
            await Task.Delay(50);
        }
        Assert.Equal(0, kill(cli.Id, 15));
        var (code, _, stderr) = await cli.WaitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine($"FIFO without writer, SIGTERM: exit {code} {stderr}");
    }

    [Fact]
    public async Task FifoWithAWriter_IsRead()
    {
        var fifo = Path.Combine(_dir, "fifo2");
        Assert.Equal(0, mkfifo(fifo, 0x180));
        await using var cli = CliProcess.Start("replay", fifo, "--format", "json");
        await using (var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write))
            await writer.WriteAsync(Encoding.UTF8.GetBytes(Lines(30)));
        var (code, stdout, stderr) = await cli.WaitAsync(Timeout);
        Assert.True(code == 0, stderr);
        Assert.Equal(30, JsonDocument.Parse(stdout).RootElement.GetProperty("flows_read").GetInt64());
    }

    [Fact]
    public async Task EmptyFlows_OutOfRangeTimes_UnknownLostSources_AndHugeLostCounts_AreHandled()
    {
        var path = Path.Combine(_dir, "odd.jsonl");
        await File.WriteAllLinesAsync(path,
        [
            Line(1),
            """{"flow":{}}""",
            """{"flow":{"time":"1900-01-01T00:00:00Z","verdict":"FORWARDED"}}""",
            """{"flow":{"time":"9999-12-31T23:59:59Z","verdict":"FORWARDED"}}""",
            """{"lost_events":{"source":99,"num_events_lost":"5"}}""",
            """{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"18446744073709551615"}}""",
            """{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"18446744073709551615"}}""",
        ]);
        var (code, report, _, _) = await Replay(path);
        output.WriteLine(report.ToString());
        Assert.Equal(0, code);
        Assert.Equal(1, Flows(report));
        Assert.Equal(3, BadLines(report));
        var reasons = BadReasons(report);
        Assert.Contains("line 2: JSON object holds no flow", reasons);
        Assert.Contains("line 3: time", reasons);
        Assert.Contains("line 4: time", reasons);
        var lost = report.GetProperty("lost_events");
        Assert.Equal(5UL, lost.GetProperty("unknown").GetUInt64());
        Assert.Equal(ulong.MaxValue, lost.GetProperty("HUBBLE_RING_BUFFER").GetUInt64());
        Assert.False(lost.TryGetProperty("99", out _));
    }
}
