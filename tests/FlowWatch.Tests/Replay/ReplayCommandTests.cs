using System.IO.Compression;
using System.Text.Json;
using FlowWatch.Api;
using FlowWatch.Findings;
using FlowWatch.Simulation;
using FlowWatch.Tests.Api;
using FlowWatch.Tests.Simulation;
using FlowWatch.Tests.Support;
using Google.Protobuf;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Replay;

/// <summary><c>flowwatch replay</c> over the built CLI: exit codes, the JSON report, merged and <c>--each</c> corpus runs.</summary>
public sealed class ReplayCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-replay-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A dns-drops incident as `hubble observe -o jsonpb` would have recorded it, gzip when asked.</summary>
    private string Record(string name, bool gzip = false)
    {
        var path = Path.Combine(_dir, name);
        using var file = File.Create(path);
        using Stream stream = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        using var writer = new StreamWriter(stream);
        foreach (var response in new TrafficGenerator(7, 5, ScenarioSet.Parse("dns-drops"), 200).Generate(SimFlows.Start, TimeSpan.FromSeconds(90)))
            writer.WriteLine(JsonFormatter.Default.Format(response));
        return path;
    }

    [Fact]
    public async Task ExitCodes_ZeroWhenFlowsRead_TwoWhenNothingCouldBeRead_OneForUsage_DocumentedInHelp()
    {
        var good = Path.Combine(_dir, "good.jsonl");
        await File.WriteAllTextAsync(good, """{"flow":{"time":"2024-01-01T00:00:01Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"}}}""" + "\n");
        var empty = Path.Combine(_dir, "empty.jsonl");
        await File.WriteAllTextAsync(empty, "");
        var allBad = Path.Combine(_dir, "bad.jsonl");
        await File.WriteAllTextAsync(allBad, "{broken\nnot json\n");

        Assert.Equal(0, (await CliRun.RunAsync("replay", good, "--quiet")).ExitCode);
        var none = await CliRun.RunAsync("replay", empty, "--quiet");
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("no flow could be read from", none.Stderr);
        Assert.Equal(2, (await CliRun.RunAsync("replay", allBad, "--quiet")).ExitCode);
        Assert.Equal(2, (await CliRun.RunAsync("replay", good, allBad, "--quiet")).ExitCode);
        Assert.Equal(1, (await CliRun.RunAsync("replay", Path.Combine(_dir, "missing.jsonl"))).ExitCode);
        Assert.Equal(1, (await CliRun.RunAsync("replay", good, "--fail-on", "info")).ExitCode);
        Assert.Equal(1, (await CliRun.RunAsync("replay")).ExitCode);
        var help = await CliRun.RunAsync("replay", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Exit codes:", help.Stdout);
        Assert.Contains("2  a FILE yielded no flow", help.Stdout);
        Assert.Contains("--fail-on", help.Stdout);
    }

    [Fact]
    public async Task JsonReport_OneEntryPerFinding_SnakeCaseAsTheApi_AndFailOnGatesTheExitCode()
    {
        var plain = Record("node-a.jsonl");
        var gz = Record("node-b.jsonl.gz", gzip: true);

        var run = await CliRun.RunAsync("replay", plain, gz, "--format", "json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        using var doc = JsonDocument.Parse(run.Stdout);
        var root = doc.RootElement;
        Assert.Equal(2, root.GetProperty("files").GetArrayLength());
        Assert.All(root.GetProperty("files").EnumerateArray(), f => Assert.True(f.GetProperty("flows").GetInt64() > 0));
        Assert.Equal(0, root.GetProperty("bad_lines").GetInt64());
        Assert.Equal(0, root.GetProperty("bad_time").GetProperty("far_future").GetInt64());
        var findings = root.GetProperty("findings").EnumerateArray().ToList();
        Assert.NotEmpty(findings);
        var ids = findings.Select(f => f.GetProperty("id").GetString()).ToList();
        Assert.Equal(ids.Distinct().Count(), ids.Count);
        Assert.Contains(findings, f => f.GetProperty("updates").GetInt32() > 1);
        // The same field names as /api/v1/findings, plus the update count.
        var sample = new Finding("x", FindingKind.DnsDrops, Severity.Warning, FindingState.Open, new FindingSubject(),
            new Dictionary<string, long>(), SimFlows.Start, SimFlows.Start, "s", []);
        var apiKeys = JsonDocument.Parse(JsonSerializer.Serialize(sample, ApiJson.Options)).RootElement.EnumerateObject().Select(p => p.Name);
        Assert.Equal(apiKeys.Append("updates").OrderBy(k => k), findings[0].EnumerateObject().Select(p => p.Name).OrderBy(k => k));
        Assert.Equal("dns_drops", findings[0].GetProperty("kind").GetString());
        Assert.True(findings[0].TryGetProperty("first_seen", out _));
        output.WriteLine($"{findings.Count} findings, {findings.Sum(f => f.GetProperty("updates").GetInt32())} updates");

        var worst = findings.Max(f => Enum.Parse<Severity>(f.GetProperty("severity").GetString()!, ignoreCase: true));
        Assert.Equal(worst >= Severity.Warning ? 3 : 0, (await CliRun.RunAsync("replay", plain, "--quiet", "--fail-on", "warning")).ExitCode);
        Assert.Equal(worst >= Severity.Critical ? 3 : 0, (await CliRun.RunAsync("replay", plain, "--quiet", "--fail-on", "critical")).ExitCode);
        Assert.True(worst >= Severity.Warning, "the dns-drops recording raised nothing worth failing on, so --fail-on is untested");
    }

    [SkippableFact]
    public async Task WholeCorpus_MergedAndEach_InSeconds_NoBadLines_EachFileAsReplayedAlone()
    {
        TestPaths.RequireCorpus();
        var files = TestPaths.CorpusFiles.ToArray();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var merged = await CliRun.RunAsync(["replay", .. files, "--format", "json"]);
        var mergedTook = clock.Elapsed;
        Assert.True(merged.ExitCode == 0, merged.Stderr);
        var m = JsonDocument.Parse(merged.Stdout).RootElement;
        Assert.Equal(0, m.GetProperty("bad_lines").GetInt64());
        Assert.Equal(0, m.GetProperty("bad_time").GetProperty("far_future").GetInt64() + m.GetProperty("bad_time").GetProperty("far_past").GetInt64());

        clock.Restart();
        var each = await CliRun.RunAsync(["replay", .. files, "--each", "--format", "json"]);
        var eachTook = clock.Elapsed;
        Assert.True(each.ExitCode == 0, each.Stderr);
        var reports = JsonDocument.Parse(each.Stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(files.Length, reports.Count);
        Assert.Equal(m.GetProperty("flows_read").GetInt64(), reports.Sum(r => r.GetProperty("flows_read").GetInt64()));
        output.WriteLine($"corpus of {files.Length} files, {m.GetProperty("flows_read").GetInt64():N0} flows: merged {mergedTook.TotalSeconds:F2} s " +
                         $"(replay itself {m.GetProperty("elapsed_seconds").GetDouble():F2} s, {m.GetProperty("time_jumps").GetInt64()} time jumps), --each {eachTook.TotalSeconds:F2} s");

        for (var i = 0; i < files.Length; i++)
        {
            var alone = await CliRun.RunAsync("replay", files[i], "--format", "json");
            Assert.True(alone.ExitCode == 0, alone.Stderr);
            var a = JsonDocument.Parse(alone.Stdout).RootElement;
            Assert.Equal(a.GetProperty("flows_read").GetInt64(), reports[i].GetProperty("flows_read").GetInt64());
            Assert.Equal(a.GetProperty("findings").GetRawText(), reports[i].GetProperty("findings").GetRawText());
        }
    }
}
