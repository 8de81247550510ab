using FlowWatch.Tests.Support;
using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Cli;

/// <summary>SIGTERM stops <c>flowwatch replay</c> within a second while it crosses one time jump after another.</summary>
[Collection(TimingCollection.Name)]
public sealed class ReplayShutdownTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-replay-term-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Sigterm_DuringTimeJumps_ExitsZeroWithinASecond()
    {
        // 3,000 steps of a day each, three flows a step (so every step is believed, not set aside as an outlier).
        var file = Path.Combine(_dir, "jumps.jsonl");
        var sb = new StringBuilder();
        var t0 = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var step = 0; step < 3_000; step++)
            for (var i = 0; i < 3; i++)
                sb.Append("{\"flow\":{\"time\":\"").Append(t0.AddDays(step).AddSeconds(i).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ"))
                  .Append("\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"}}}\n");
        await File.WriteAllTextAsync(file, sb.ToString());

        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Alerting.DemoProcess.CliAssembly);
        foreach (var a in new[] { "replay", file }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var started = new TaskCompletionSource();
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
            // A progress line: the replay is in its loop (startup and JIT are over), crossing jumps.
            if (e.Data.Contains(" flows")) started.TrySetResult();
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
            output.WriteLine($"SIGTERM to exit during time jumps: {took.TotalMilliseconds:N0} ms, exit {process.ExitCode}");
            Assert.Equal(0, process.ExitCode);
            Assert.True(took <= TimeSpan.FromSeconds(1), $"took {took.TotalMilliseconds:N0} ms");
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
