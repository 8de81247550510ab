using System.Diagnostics;
using System.Text;
using FlowWatch.Tests.Alerting;
using FlowWatch.Tests.Hubble.Conformance;

namespace FlowWatch.Tests.Cli;

/// <summary>The built CLI (watch, demo) as a child process with its own environment (the test hooks must not reach other
/// tests' processes), serving /metrics on a free port; signalled and timed from the signal to the exit, killed on dispose.</summary>
internal sealed class ShutdownChild : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string _listen;

    private ShutdownChild(Process process, string listen) => (_process, _listen) = (process, listen);

    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>Starts the CLI and waits for its /metrics; <paramref name="environment"/> sets variables of the child only.</summary>
    public static async Task<ShutdownChild> StartAsync(string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        // The free port is found by binding and releasing it; another test's process can take it in between (seen in a
        // clean-clone run: "address already in use"), so a child that could not listen is started again on another port.
        for (var attempt = 1; ; attempt++)
        {
            var child = Start(args, environment, $"127.0.0.1:{RefServer.FreePort()}");
            try
            {
                await child.WaitForMetricAsync("flowwatch_flows_total", _ => true, TimeSpan.FromSeconds(60));
                return child;
            }
            catch when (attempt < 3 && child.Log.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await child.DisposeAsync();
            }
            catch
            {
                await child.DisposeAsync();
                throw;
            }
        }
    }

    private static ShutdownChild Start(string[] args, IReadOnlyDictionary<string, string>? environment, string listen)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(DemoProcess.CliAssembly);
        foreach (var a in args.Concat(["--listen", listen, "--progress", "1s"])) psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        var child = new ShutdownChild(Process.Start(psi)!, listen);
        child._process.OutputDataReceived += (_, e) => child.Append(e.Data);
        child._process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>FLOWWATCH_TEST_FLOW_DELAY: every flow holds the pipeline this long (a slow or stuck detector).</summary>
    public static IReadOnlyDictionary<string, string> FlowDelay(string delay) => new Dictionary<string, string> { ["FLOWWATCH_TEST_FLOW_DELAY"] = delay };

    /// <summary>Waits until the child's output contains <paramref name="text"/>, with a deadline.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            Assert.False(_process.HasExited, $"exited early with {(_process.HasExited ? _process.ExitCode : 0)}:\n{Log}");
            Assert.True(deadline.Elapsed < timeout, $"'{text}' not printed within {timeout.TotalSeconds:0} s:\n{Log}");
            await Task.Delay(50);
        }
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
