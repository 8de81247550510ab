using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FlowWatch.Tests.Support;

namespace FlowWatch.Tests.Alerting;

/// <summary><c>flowwatch demo</c> as a real child process (the built CLI under <c>dotnet</c>), serving /metrics on a
/// free 127.0.0.1 port; its process tree is killed on dispose.</summary>
/// <remarks>The CLI is taken from src/FlowWatch.Cli/bin/&lt;configuration of this test build&gt;/net10.0, so
/// <c>dotnet build FlowWatch.sln -c Release</c> (what test.sh runs) provides it; a missing build fails with that hint.</remarks>
public sealed class DemoProcess : IAsyncDisposable
{
    private const int LogLines = 300;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly Process _process;
    private readonly Queue<string> _log = new();
    private readonly System.Text.StringBuilder _all = new();
    private int _disposed;

    private DemoProcess(Process process, string listen)
    {
        _process = process;
        MetricsUri = new Uri($"http://{listen}/metrics");
        Clock = Stopwatch.StartNew();
    }

    /// <summary>http://127.0.0.1:PORT/metrics of the demo.</summary>
    public Uri MetricsUri { get; }

    /// <summary>Started when the process was: every "time to fire" is read from it.</summary>
    public Stopwatch Clock { get; }

    public bool HasExited => _process.HasExited;

    public int ProcessId => _process.Id;

    /// <summary>Everything the demo printed on stdout and stderr so far (for "never printed" checks).</summary>
    public string AllOutput
    {
        get { lock (_log) return _all.ToString(); }
    }

    /// <summary>Sends SIGTERM (what the kubelet sends) and waits up to <paramref name="grace"/>; the exit code, or null if it did not exit.</summary>
    public async Task<int?> TerminateAsync(TimeSpan grace)
    {
        Assert.Equal(0, SysKill(_process.Id, SigTerm));
        using var wait = new CancellationTokenSource(grace);
        try { await _process.WaitForExitAsync(wait.Token); }
        catch (OperationCanceledException) { return null; }
        return _process.ExitCode;
    }

    private const int SigTerm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    /// <summary>The last lines the demo printed, for failure messages.</summary>
    public string RecentLog
    {
        get { lock (_log) return string.Join("\n", _log); }
    }

    /// <summary>The built CLI assembly, for the configuration this test assembly was built in.</summary>
    public static string CliAssembly
    {
        get
        {
            // tests/FlowWatch.Tests/bin/<Configuration>/<tfm>/ -> src/FlowWatch.Cli/bin/<Configuration>/<tfm>/
            var tfmDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var path = Path.Combine(TestPaths.RepoRoot, "src", "FlowWatch.Cli", "bin", tfmDir.Parent!.Name, tfmDir.Name, "FlowWatch.Cli.dll");
            Assert.True(File.Exists(path), $"{path} not found: build the solution first (dotnet build FlowWatch.sln -c Release, or ./test.sh)");
            return path;
        }
    }

    /// <summary>Starts <c>flowwatch demo --scenario <paramref name="scenarios"/></c> and returns once its /readyz answers 200.</summary>
    public static async Task<DemoProcess> StartAsync(string scenarios, IEnumerable<string>? extraArgs = null, TimeSpan? readyTimeout = null,
        string progress = "5s")
    {
        var cli = CliAssembly;
        Exception? last = null;
        // The free port is found by binding and releasing it; another process can take it in between, so retry.
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var listen = $"127.0.0.1:{FreeLoopbackPort()}";
            var psi = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = TestPaths.RepoRoot,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { cli, "demo", "--scenario", scenarios, "--listen", listen, "--progress", progress }.Concat(extraArgs ?? []))
                psi.ArgumentList.Add(a);
            var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet " + cli);
            var demo = new DemoProcess(process, listen);
            process.OutputDataReceived += (_, e) => demo.Log(e.Data);
            process.ErrorDataReceived += (_, e) => demo.Log(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await demo.WaitReadyAsync(readyTimeout ?? TimeSpan.FromSeconds(30));
                return demo;
            }
            catch (Exception e)
            {
                await demo.DisposeAsync();
                last = e;
                if (!demo.RecentLog.Contains("address already in use", StringComparison.OrdinalIgnoreCase)) throw;
            }
        }
        throw last!;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try { await _process.WaitForExitAsync(wait.Token); } catch (OperationCanceledException) { }
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        _process.Dispose();
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var ready = new Uri(MetricsUri, "/readyz");
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"flowwatch demo exited with code {_process.ExitCode} before it was ready:\n{RecentLog}");
            try
            {
                using var response = await http.GetAsync(ready);
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow to answer while starting on a busy machine.
            }
            await Task.Delay(PollInterval);
        }
        throw new TimeoutException($"flowwatch demo not ready at {ready} within {timeout.TotalSeconds:0} s:\n{RecentLog}");
    }

    private void Log(string? line)
    {
        if (line is null) return;
        lock (_log)
        {
            _log.Enqueue(line);
            if (_all.Length < 4 << 20) _all.AppendLine(line);
            while (_log.Count > LogLines) _log.Dequeue();
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
