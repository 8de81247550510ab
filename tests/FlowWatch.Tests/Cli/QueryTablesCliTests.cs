using System.Diagnostics;
using FlowWatch.Findings;
using FlowWatch.Tests.Api;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Cli;

/// <summary>The query commands' tables, through the built CLI against the demo's pipeline: sorted, cut to the width, labelled.</summary>
public sealed class QueryTablesCliTests(DemoServer server, ITestOutputHelper output) : IClassFixture<DemoServer>
{
    private static readonly Dictionary<string, string> Narrow = new() { ["COLUMNS"] = "100" };
    private string Server => server.Address.ToString();

    private async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"within 90 s: {what}");
            await Task.Delay(100);
        }
    }

    private Task SeveralSeverities() => Until(() =>
        server.Runtime.Pipeline.Book.OpenFindings.Select(f => f.Severity).Distinct().Count() >= 2 &&
        server.Runtime.Pipeline.Book.OpenFindings.Any(f => f.Kind == FindingKind.BackendUnhealthy), "critical and warning findings, and an unhealthy backend");

    private static string[] Rows(string stdout) => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task Findings_AreSortedBySeverity_AndFitTheWidth()
    {
        await SeveralSeverities();
        var r = await CliRun.RunAsync(Narrow, "findings", "--server", Server, "--state", "open");
        Assert.True(r.ExitCode == 0, r.Stderr);
        output.WriteLine(r.Stdout);
        var rows = Rows(r.Stdout);
        Assert.StartsWith("SEVERITY  STATE  KIND", rows[0]);
        var data = rows.Skip(1).Where(l => l.StartsWith("critical") || l.StartsWith("warning") || l.StartsWith("info")).ToList();
        Assert.True(data.Count >= 2, r.Stdout);
        var ranks = data.Select(l => l.Split(' ')[0] switch { "critical" => 2, "warning" => 1, _ => 0 }).ToList();
        Assert.Equal(ranks.OrderByDescending(x => x), ranks);
        Assert.All(rows, l => Assert.True(l.Length <= 100, $"{l.Length} columns: {l}"));
        Assert.Contains(data, l => l.EndsWith('…'));
    }

    [Fact]
    public async Task FindingsWide_ShowTheWholeSummary_AndLimitCuts()
    {
        await SeveralSeverities();
        var wide = await CliRun.RunAsync(Narrow, "findings", "--server", Server, "-o", "wide");
        Assert.True(wide.ExitCode == 0, wide.Stderr);
        // Summaries carry live counts, so compare their shape, not their text: whole, never cut, past the width.
        Assert.DoesNotContain("…", wide.Stdout);
        Assert.Contains(Rows(wide.Stdout), l => l.Length > 100);
        var longest = server.Runtime.Pipeline.Book.OpenFindings.MaxBy(f => f.Summary.Length)!;
        Assert.Contains(longest.Summary[^40..].Split(' ')[^1], wide.Stdout);
        var limited = await CliRun.RunAsync(Narrow, "findings", "--server", Server, "--limit", "1");
        var rows = Rows(limited.Stdout);
        Assert.Equal(3, rows.Length); // header, one finding, the count line
        Assert.StartsWith("critical", rows[1]);
        Assert.Contains("(--limit)", rows[2]);
    }

    [Fact]
    public async Task Health_IsLabelledSections_NotJson()
    {
        await SeveralSeverities();
        var backend = server.Runtime.Pipeline.Book.OpenFindings.First(f => f.Kind == FindingKind.BackendUnhealthy).Subject;
        var r = await CliRun.RunAsync(Narrow, "health", $"{backend.Namespace}/{backend.Pod}", "--server", Server);
        Assert.True(r.ExitCode == 0, r.Stderr);
        output.WriteLine(r.Stdout);
        var lines = Rows(r.Stdout);
        foreach (var heading in new[] { "Handshakes (last ", "Backends", "Duplicate IP", "Findings (", "Recent drops" })
            Assert.Contains(lines, l => l.StartsWith(heading));
        Assert.DoesNotContain("{", r.Stdout);
        Assert.DoesNotContain("\"", r.Stdout);
        Assert.All(lines, l => Assert.True(l.Length <= 100, $"{l.Length} columns: {l}"));
    }

    [Fact]
    public async Task Backends_WorstFirst_WithAStateColumn_AndSharesFromTheirCounts()
    {
        await SeveralSeverities();
        var subject = server.Runtime.Pipeline.Book.OpenFindings.First(f => f.Kind == FindingKind.BackendUnhealthy).Subject;
        var r = await CliRun.RunAsync("backends", $"{subject.Namespace}/{subject.Service}", "--server", Server);
        Assert.True(r.ExitCode == 0, r.Stderr);
        output.WriteLine(r.Stdout);
        var rows = Rows(r.Stdout).Skip(1).ToList();
        var header = rows[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("STATE", header[0]);
        var first = rows[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("unhealthy", first[0]);
        Assert.Equal(subject.Pod, first[1]);
        foreach (var row in rows.Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            long N(string column) => long.Parse(row[Array.IndexOf(header, column)].Replace(",", ""));
            var failed = N("REFUSED") + N("DROPPED") + N("REPLY_LOST") + N("TIMEOUT");
            Assert.True(failed <= N("HANDSHAKES"));
            Assert.Equal(FlowWatch.Cli.Terminal.Units.Percent(failed, N("HANDSHAKES")), row[Array.IndexOf(header, "FAILED")]);
        }
    }

    [Fact]
    public async Task QueryCommands_ThroughTheBuiltBinary_Timed()
    {
        await SeveralSeverities();
        var backend = server.Runtime.Pipeline.Book.OpenFindings.First(f => f.Kind == FindingKind.BackendUnhealthy).Subject;
        string[][] commands =
        [
            ["flows", "-n", "5"], ["findings"], ["health", $"{backend.Namespace}/{backend.Pod}"], ["backends", $"{backend.Namespace}/{backend.Service}"],
        ];
        foreach (var command in commands)
        {
            var clock = Stopwatch.StartNew();
            var r = await CliRun.RunAsync([.. command, "--server", Server]);
            Assert.True(r.ExitCode == 0, $"{string.Join(' ', command)}: {r.Stderr}");
            output.WriteLine($"flowwatch {string.Join(' ', command)}: {clock.Elapsed.TotalSeconds:F2} s (load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        }
    }
}
