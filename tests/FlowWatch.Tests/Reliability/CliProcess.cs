using System.Diagnostics;
using FlowWatch.Tests.Alerting;

namespace FlowWatch.Tests.Reliability;

/// <summary>The built CLI as a child process, with stdin to write to, its output, and its peak RSS (VmHWM) as sampled while it ran.</summary>
internal sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stdout, _stderr;
    private readonly Task _sampler;
    private readonly CancellationTokenSource _stop = new();
    private long _peak;

    private CliProcess(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
        _sampler = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested && !_process.HasExited)
            {
                if (Status("VmHWM") is { } hwm) _peak = Math.Max(_peak, hwm);
                try { await Task.Delay(20, _stop.Token); } catch (OperationCanceledException) { }
            }
        });
    }

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public Stream Stdin => _process.StandardInput.BaseStream;
    public long PeakRssBytes => Interlocked.Read(ref _peak);

    public static CliProcess Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(DemoProcess.CliAssembly);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return new CliProcess(Process.Start(psi)!);
    }

    /// <summary>Waits for exit (killing it past <paramref name="timeout"/>): exit code, stdout, stderr.</summary>
    public async Task<(int Code, string Stdout, string Stderr)> WaitAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(wait.Token); }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"flowwatch did not exit within {timeout.TotalSeconds:0} s");
        }
        _stop.Cancel();
        await _sampler;
        return (_process.ExitCode, await _stdout, await _stderr);
    }

    /// <summary>True while some thread of the process sleeps in the kernel at <paramref name="wchan"/> (e.g. opening a FIFO).</summary>
    public bool BlockedIn(string wchan)
    {
        try
        {
            return Directory.GetDirectories($"/proc/{_process.Id}/task")
                .Any(t => File.Exists(Path.Combine(t, "wchan")) && File.ReadAllText(Path.Combine(t, "wchan")).Contains(wchan, StringComparison.Ordinal));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    private long? Status(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        try { await _sampler; } catch (OperationCanceledException) { }
        _process.Dispose();
    }
}
