using System.Diagnostics;
using System.Globalization;
using System.Text;
using FlowWatch.Pipeline;
using FlowWatch.Tests.Alerting;
using FlowWatch.Tests.Hubble.Conformance;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Cli;

/// <summary>
/// SIGTERM stops watch by the shutdown deadline while it crosses time jumps, exits 0 and writes the checkpoint; a second signal ends
/// the demo at once.
/// </summary>
/// <remarks>The built CLI as a child process. Each figure is measured from the signal to the exit (startup not included) and
/// printed; the one-second target is printed against, the shutdown deadline asserted.</remarks>
[Collection(TimingCollection.Name)]
public sealed class GracefulShutdownDeadlineTests(ITestOutputHelper output) : IDisposable
{
    // The issue asks for 1 s; measured 490–537 ms on an idle machine but 1,130 and 1,301 ms in two of about ten runs, so
    // that target is not met yet (issue 12 stays open). What the watcher guarantees is its shutdown backstop: the
    // checkpoint is written and the process exits 0 by ShutdownSignal.Deadline, whatever the pipeline is doing.
    private static readonly TimeSpan Bound = FlowWatch.Cli.ShutdownSignal.Deadline;
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-deadline-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public async Task Watch_SigtermWhileCrossingTimeJumps_ExitsZeroByTheShutdownDeadline_WithTheCheckpoint()
    {
        // Hour-long gaps one after another, served by the real-Hubble reference server: every flow is a jump of event time.
        var file = Path.Combine(_dir, "jumps.jsonl");
        var first = DateTimeOffset.UtcNow.AddDays(-300);
        var sb = new StringBuilder();
        const int steps = 5_000;
        for (var step = 0; step < steps; step++)
            for (var i = 0; i < 3; i++)
                sb.Append("{\"flow\":{\"time\":\"").Append(first.AddHours(step).AddSeconds(i).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture))
                  .Append("\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"}}}\n");
        await File.WriteAllTextAsync(file, sb.ToString());
        await using var server = await RefServer.StartAsync(null, "--file", file, "--ring-size", "65535");

        // Resume from before the first flow, so the stream starts with the whole recording.
        var checkpoint = Path.Combine(_dir, "checkpoint.json");
        var resumeFrom = FlowRecord(first.AddSeconds(-1));
        new Checkpoint(DateTimeOffset.UtcNow, new Dictionary<string, long> { [server.Listen] = resumeFrom }, []).Save(checkpoint);
        await using var watch = await Child.StartAsync(["watch", "--hubble", server.Listen, "--checkpoint", checkpoint, "--checkpoint-every", "1s"]);
        await watch.WaitForMetricAsync("flowwatch_flows_total", v => v >= 300, TimeSpan.FromSeconds(60));

        var (code, took) = await watch.TerminateAsync();
        output.WriteLine($"watch, SIGTERM during time jumps: exit {code} {took.TotalMilliseconds:N0} ms after the signal (issue 12's target: 1,000 ms)");
        Assert.True(code == 0, $"exit code {code} after SIGTERM:\n{watch.Log}");
        Assert.True(took <= Bound, $"took {took.TotalMilliseconds:N0} ms from SIGTERM to exit (at most {Bound.TotalMilliseconds:N0}):\n{watch.Log}");
        var saved = Checkpoint.Load(checkpoint)!;
        var resumedAt = saved.Sources[server.Listen];
        Assert.True(resumedAt > resumeFrom, "the checkpoint was not written by this run");
        Assert.True(resumedAt < FlowRecord(first.AddHours(steps - 1)), "the run had finished the jumps before the signal: the test proves nothing");
    }

    [Fact]
    public async Task Demo_ASecondSignal_EndsTheProcessAtOnce()
    {
        await using var demo = await Child.StartAsync(["demo", "--scenario", "none", "--rate", "200"], flowDelay: "30s");
        // The first flow is counted before the slow sink holds it: from then on the pipeline is stuck on it.
        await demo.WaitForMetricAsync("flowwatch_flows_total", v => v >= 1, TimeSpan.FromSeconds(60));

        var clock = Stopwatch.StartNew();
        demo.Signal(15);
        await Task.Delay(100);   // the first signal's graceful stop is under way (and cannot finish: a detector is stuck)
        var second = clock.Elapsed;
        demo.Signal(15);
        var (code, took) = await demo.WaitForExitAsync(clock);
        output.WriteLine($"demo, second SIGTERM {second.TotalMilliseconds:N0} ms after the first: exit {code} {took.TotalMilliseconds:N0} ms after the first");
        // Not the graceful exit 0 at the deadline: the second signal ended it first.
        Assert.True(code == 143, $"exit code {code}: the second signal did not end the process before the deadline:\n{demo.Log}");
        Assert.True(took < ShutdownDeadline, $"took {took.TotalMilliseconds:N0} ms from the first SIGTERM:\n{demo.Log}");
    }

    private static readonly TimeSpan ShutdownDeadline = FlowWatch.Cli.ShutdownSignal.Deadline;

    private static long FlowRecord(DateTimeOffset t) => FlowWatch.Flows.FlowRecord.ToNanos(t);

    /// <summary>The built CLI with its own environment (the slow-pipeline switch must not reach other tests' processes).</summary>
    private sealed class Child : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _log = new();
        private readonly string _listen;

        private Child(Process process, string listen) => (_process, _listen) = (process, listen);

        public string Log { get { lock (_log) return _log.ToString(); } }

        public static async Task<Child> StartAsync(string[] args, string? flowDelay = null)
        {
            var listen = $"127.0.0.1:{RefServer.FreePort()}";
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(DemoProcess.CliAssembly);
            foreach (var a in args.Concat(["--listen", listen, "--progress", "1s"])) psi.ArgumentList.Add(a);
            if (flowDelay is not null) psi.Environment["FLOWWATCH_TEST_FLOW_DELAY"] = flowDelay;
            var child = new Child(Process.Start(psi)!, listen);
            child._process.OutputDataReceived += (_, e) => child.Append(e.Data);
            child._process.ErrorDataReceived += (_, e) => child.Append(e.Data);
            child._process.BeginOutputReadLine();
            child._process.BeginErrorReadLine();
            try { await child.WaitForMetricAsync("flowwatch_flows_total", _ => true, TimeSpan.FromSeconds(60)); }
            catch { await child.DisposeAsync(); throw; }
            return child;
        }

        private void Append(string? line)
        {
            if (line is null) return;
            lock (_log) _log.AppendLine(line);
        }

        /// <summary>Polls /metrics until the family's summed value passes <paramref name="ready"/>, with a deadline.</summary>
        public async Task WaitForMetricAsync(string family, Func<double, bool> ready, TimeSpan timeout)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(_process.HasExited, $"exited early with {(_process.HasExited ? _process.ExitCode : 0)}:\n{Log}");
                try
                {
                    var text = await http.GetStringAsync($"http://{_listen}/metrics");
                    if (text.Contains(family + " ") || text.Contains(family + "{"))
                        if (ready(Reliability.MetricScrape.Sum(text, family))) return;
                }
                catch (HttpRequestException) { }
                catch (TaskCanceledException) { }
                Assert.True(deadline.Elapsed < timeout, $"{family} not there within {timeout.TotalSeconds:0} s:\n{Log}");
                await Task.Delay(100);
            }
        }

        public void Signal(int signal) => Assert.Equal(0, SysKill(_process.Id, signal));

        /// <summary>SIGTERM, then the exit code and the time from the signal to the exit (10 s at most, then it is killed).</summary>
        public async Task<(int? Code, TimeSpan Took)> TerminateAsync()
        {
            var clock = Stopwatch.StartNew();
            Signal(15);
            return await WaitForExitAsync(clock);
        }

        public async Task<(int? Code, TimeSpan Took)> WaitForExitAsync(Stopwatch clock)
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await _process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { return (null, clock.Elapsed); }
            var took = clock.Elapsed;
            await _process.WaitForExitAsync();   // the output readers have finished too
            return (_process.ExitCode, took);
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync();
                }
            }
            catch (InvalidOperationException) { }
            _process.Dispose();
        }

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static extern int SysKill(int pid, int signal);
    }
}
