using FlowWatch.Tests.Support;
using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Cli;

/// <summary>SIGTERM stops <c>flowwatch replay</c> within a second while it crosses one time jump after another, or while a
/// detector is slow on every flow or stuck on one.</summary>
[Collection(TimingCollection.Name)]
public sealed class ReplayShutdownTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-replay-term-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Sigterm_DuringTimeJumps_ExitsZeroWithinASecond()
    {
        // 3,000 steps of a day each, three flows a step (so every step is believed, not set aside as an outlier).
        var t0 = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var file = await WriteFlowsAsync("jumps.jsonl", 9_000, i => t0.AddDays(i / 3).AddSeconds(i % 3));
        // A progress line: the replay is in its loop (startup and JIT are over), crossing jumps.
        await SigtermAsync(file, line => line.Contains(" flows"), null, "during time jumps");
    }

    [Theory]
    [InlineData("250ms")]
    [InlineData("30s")]
    public async Task Sigterm_WithABusyDetector_ExitsZeroWithinASecond(string perFlow)
    {
        var t0 = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var file = await WriteFlowsAsync("flows.jsonl", 2_000, i => t0.AddMilliseconds(i * 10));
        await SigtermAsync(file, line => line.StartsWith("flowwatch test hook: holding the pipeline", StringComparison.Ordinal),
            perFlow, $"with a detector taking {perFlow} a flow");
    }

    private async Task<string> WriteFlowsAsync(string name, int count, Func<int, DateTimeOffset> time)
    {
        var file = Path.Combine(_dir, name);
        var sb = new StringBuilder();
        for (var i = 0; i < count; i++)
            sb.Append("{\"flow\":{\"time\":\"").Append(time(i).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"))
              .Append("\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"}}}\n");
        await File.WriteAllTextAsync(file, sb.ToString());
        return file;
    }

    /// <summary>Replays <paramref name="file"/>, sends SIGTERM once stderr shows <paramref name="busy"/>, and asserts exit 0
    /// within a second of the signal with no report (stopped, not finished).</summary>
    private async Task SigtermAsync(string file, Func<string, bool> busy, string? flowDelay, string doing)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Alerting.DemoProcess.CliAssembly);
        foreach (var a in new[] { "replay", file }) start.ArgumentList.Add(a);
        if (flowDelay is not null) start.Environment["FLOWWATCH_TEST_FLOW_DELAY"] = flowDelay;
        using var process = Process.Start(start)!;
        var started = new TaskCompletionSource();
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
            if (busy(e.Data)) started.TrySetResult();
        };
        process.BeginErrorReadLine();
        var stdout = process.StandardOutput.ReadToEndAsync();
        try
        {
            await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var clock = Stopwatch.StartNew();
            Assert.Equal(0, SysKill(process.Id, 15));
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(wait.Token);
            var took = clock.Elapsed;
            output.WriteLine($"replay, SIGTERM {doing}: exit {process.ExitCode} {took.TotalMilliseconds:N0} ms after the signal");
            string log;
            lock (stderr) log = stderr.ToString();
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}:\n{log}");
            Assert.True(took <= TimeSpan.FromSeconds(1), $"took {took.TotalMilliseconds:N0} ms:\n{log}");
            Assert.DoesNotContain("findings", await stdout); // stopped, not finished
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);
}
