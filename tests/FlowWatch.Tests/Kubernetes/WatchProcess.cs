using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FlowWatch.Tests.Alerting;
using FlowWatch.Tests.Support;

namespace FlowWatch.Tests.Kube;

/// <summary><c>flowwatch watch</c> as a child process (the built CLI) on a free 127.0.0.1 port; its process tree is killed on dispose.</summary>
internal sealed class WatchProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();

    private WatchProcess(Process process, Uri http)
    {
        _process = process;
        Http = http;
    }

    /// <summary>http://127.0.0.1:PORT/ of its metrics, probes and API.</summary>
    public Uri Http { get; }

    public int Id => _process.Id;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public static WatchProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string> env)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = TestPaths.RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { DemoProcess.CliAssembly, "watch", "--listen", $"127.0.0.1:{port}", "--view", "lines" }.Concat(args)) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the CLI");
        var watch = new WatchProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, e) => watch.Append(e.Data);
        process.ErrorDataReceived += (_, e) => watch.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return watch;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    /// <summary>GET <paramref name="path"/>; null while it does not answer (starting, or gone).</summary>
    public async Task<string?> GetAsync(string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try { return await http.GetStringAsync(new Uri(Http, path)); }
        catch (HttpRequestException) { return null; }
        catch (TaskCanceledException) { return null; }
    }

    /// <summary>/readyz's body whatever its status (the leadership note is there either way); null while it does not answer.</summary>
    public async Task<string?> ReadyzAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var response = await http.GetAsync(new Uri(Http, "/readyz"));
            return await response.Content.ReadAsStringAsync();
        }
        catch (HttpRequestException) { return null; }
        catch (TaskCanceledException) { return null; }
    }

    /// <summary>SIGKILL: the process dies without releasing its Lease, as a crashed or OOM-killed pod does.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(wait.Token);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) await KillAsync();
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
