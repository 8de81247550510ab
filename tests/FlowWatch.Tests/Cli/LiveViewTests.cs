using System.Diagnostics;
using FlowWatch.Tests.Alerting;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Cli;

/// <summary><c>flowwatch demo</c>'s status: the live view in a real terminal (tmux: a pseudo-terminal and a screen to read
/// back), and plain structured lines with no escape codes when stdout is not a terminal.</summary>
public sealed class LiveViewTests(ITestOutputHelper output)
{
    private const int Columns = 110, Rows = 40;
    private static readonly string[] Kinds = ["dns_drops", "duplicate_ip", "unmanaged_pod", "asymmetric_path", "backend_unhealthy"];

    private static async Task<(int Code, string Out)> Tmux(params string[] args)
    {
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stdout = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, stdout);
    }

    [SkippableFact]
    public async Task InATerminal_TheOpenFindingsStayOnScreen_SortedBySeverity_WithinTheWidth()
    {
        Skip.If(!File.Exists("/usr/bin/tmux") && !File.Exists("/usr/local/bin/tmux"), "TMUX ABSENT: the live view needs a terminal to be read back; this test did not run.");
        var session = $"fwlive-{Environment.ProcessId}-{Guid.NewGuid():N}"[..24];
        var cli = DemoProcess.CliAssembly;
        var command = $"env TERM=xterm-256color dotnet '{cli}' demo --listen 127.0.0.1:0 --rate 3000";
        Assert.Equal(0, (await Tmux("new-session", "-d", "-s", session, "-x", $"{Columns}", "-y", $"{Rows}", command)).Code);
        try
        {
            string screen = "";
            var clock = Stopwatch.StartNew();
            while (!Kinds.All(k => screen.Contains($"  {k}  ")))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(150), $"not every scenario's finding on screen within 150 s:\n{screen}");
                await Task.Delay(500);
                screen = (await Tmux("capture-pane", "-p", "-t", session)).Out;
            }
            output.WriteLine($"all five kinds on screen after {clock.Elapsed.TotalSeconds:F0} s:\n{screen}");
            var lines = screen.Split('\n');
            Assert.All(lines, l => Assert.True(l.TrimEnd().Length <= Columns, $"{l.Length} columns: {l}"));
            // The header, then the findings table; each finding is one line.
            Assert.Contains(lines, l => l.StartsWith("hubble connected, nodes "));
            Assert.Contains(lines, l => l.Contains("/s   forwarded ") && l.Contains("dropped "));
            Assert.Contains(lines, l => l.StartsWith("lost ") && l.Contains("shed ") && l.Contains("event-time lag "));
            var findings = lines.Where(l => l.StartsWith("critical  ") || l.StartsWith("warning  ") || l.StartsWith("info  ")).ToList();
            Assert.True(findings.Count >= Kinds.Length, screen);
            var ranks = findings.Select(l => l.StartsWith("critical") ? 2 : l.StartsWith("warning") ? 1 : 0).ToList();
            Assert.Equal(ranks.OrderByDescending(r => r), ranks);
            // Redrawn in place: the header is on screen once, however long it ran.
            Assert.Single(lines, l => l.StartsWith("hubble connected"));
        }
        finally
        {
            await Tmux("kill-session", "-t", session);
        }
    }

    [Fact]
    public async Task NotATerminal_OneStructuredLinePerFinding_AndNoEscapeCodes()
    {
        await using var demo = await DemoProcess.StartAsync("dns-drops", progress: "2s");
        var clock = Stopwatch.StartNew();
        // The first finding can open before the first progress line is due: wait for both.
        while (!demo.AllOutput.Contains("event=finding_opened") || !demo.AllOutput.Contains("| shed "))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"no finding line and progress line within 90 s:\n{demo.RecentLog}");
            await Task.Delay(200);
        }
        var all = demo.AllOutput;
        Assert.DoesNotContain('\u001b', all);
        var line = all.Split('\n').First(l => l.Contains("event=finding_opened"));
        output.WriteLine(line);
        Assert.Matches(@"^\d\d:\d\d:\d\d  event=finding_opened severity=(critical|warning|info) kind=dns_drops subject=\S+ id=\S+ summary="".+""$", line.TrimEnd());
        Assert.Contains("| shed ", all);
    }
}
