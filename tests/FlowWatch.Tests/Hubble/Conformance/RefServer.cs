using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FlowWatch.Tests.Support;

namespace FlowWatch.Tests.Hubble.Conformance;

/// <summary>
/// ../shared/bin/hubble-refserver (grpc-go over Cilium's generated API and Hubble's filter engine) as a child process
/// on 127.0.0.1 or a unix socket; killed on dispose. Skips the test where ../shared/bin is absent.
/// </summary>
internal sealed class RefServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private RefServer(Process process, string listen) => (_process, Listen) = (process, listen);

    /// <summary>The --listen value: "127.0.0.1:port" or "unix:///path".</summary>
    public string Listen { get; }

    /// <summary>What the server logged (stderr), for failure messages.</summary>
    public string Log { get { lock (_log) return _log.ToString(); } }

    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Starts the server and waits (on its log, with a deadline) until it serves; on a port of its choosing when <paramref name="listen"/> is null.</summary>
    public static async Task<RefServer> StartAsync(string? listen, params string[] args)
    {
        if (listen is not null) return await StartOnceAsync(listen, args);
        // A free port is found by binding and releasing it; another process can take it in between, so try another.
        for (var attempt = 1; ; attempt++)
        {
            try { return await StartOnceAsync($"127.0.0.1:{FreePort()}", args); }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("address already in use", StringComparison.Ordinal)) { }
        }
    }

    private static async Task<RefServer> StartOnceAsync(string listen, string[] args)
    {
        var psi = new ProcessStartInfo(TestPaths.RefServer)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--listen");
        psi.ArgumentList.Add(listen);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start hubble-refserver");
        var server = new RefServer(process, listen);
        var serving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(object _, DataReceivedEventArgs e)
        {
            if (e.Data is null) return;
            lock (server._log) server._log.AppendLine(e.Data);
            if (e.Data.Contains(" serving on ", StringComparison.Ordinal)) serving.TrySetResult();
        }
        process.ErrorDataReceived += OnLine;
        process.OutputDataReceived += OnLine;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(serving.Task, exited, Task.Delay(TimeSpan.FromSeconds(30)));
        if (first != serving.Task)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"hubble-refserver did not start serving on {listen}:\n{server.Log}");
        }
        return server;
    }

    /// <summary>Waits for the process to end by itself (--exit-after), with a deadline.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
