using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using FlowWatch.Tests.Alerting;

namespace FlowWatch.Tests.Hubble.Conformance;

/// <summary>
/// A serving <c>flowwatch</c> command (watch, replay --serve) as a child process of the built CLI, listening on a port
/// the OS chose (127.0.0.1:0) and read back from what it prints; SIGTERM, then a kill, on dispose.
/// </summary>
internal sealed partial class CliServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Seen)> _waiters = [];

    private CliServer(Process process) => _process = process;

    /// <summary>http://127.0.0.1:PORT of the query API, once printed.</summary>
    public string Address { get; private set; } = "";

    public string Log { get { lock (_log) return _log.ToString(); } }

    public bool HasExited => _process.HasExited;

    public static async Task<CliServer> StartAsync(TimeSpan ready, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(DemoProcess.CliAssembly);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("FLOWWATCH_TOKEN");
        var server = new CliServer(Process.Start(psi)!);
        server._process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        try
        {
            var line = await server.WaitForLineAsync(l => AddressPattern().IsMatch(l), ready);
            server.Address = AddressPattern().Match(line).Value;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>The first line (already printed or yet to come) that matches; fails past the deadline or when the process ends.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_log)
        {
            foreach (var l in _log.ToString().Split('\n'))
                if (match(l)) return l;
            _waiters.Add((match, seen));
        }
        var deadline = Task.Delay(timeout);
        while (!seen.Task.IsCompleted && !deadline.IsCompleted)
        {
            if (_process.HasExited) { await Task.WhenAny(seen.Task, Task.Delay(500)); break; }
            await Task.WhenAny(seen.Task, deadline, _process.WaitForExitAsync());
        }
        if (seen.Task.IsCompleted) return await seen.Task;
        throw new TimeoutException($"flowwatch did not print the awaited line within {timeout.TotalSeconds:0} s{(_process.HasExited ? $" (exited {_process.ExitCode})" : "")}:\n{Log}");
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_log)
        {
            _log.AppendLine(line);
            foreach (var w in _waiters.ToList())
                if (w.Match(line)) { w.Seen.TrySetResult(line); _waiters.Remove(w); }
        }
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:[0-9]+")]
    private static partial Regex AddressPattern();

    /// <summary>SIGTERM and the exit code, or null if it did not exit within <paramref name="grace"/>.</summary>
    public async Task<int?> TerminateAsync(TimeSpan grace)
    {
        if (_process.HasExited) return _process.ExitCode;
        _ = SysKill(_process.Id, 15);
        using var wait = new CancellationTokenSource(grace);
        try { await _process.WaitForExitAsync(wait.Token); }
        catch (OperationCanceledException) { return null; }
        return _process.ExitCode;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited && await TerminateAsync(TimeSpan.FromSeconds(10)) is null) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
