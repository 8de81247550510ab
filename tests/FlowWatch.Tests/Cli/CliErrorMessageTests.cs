using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FlowWatch.Hosting;
using FlowWatch.Security;
using FlowWatch.Tests.Api;
using FlowWatch.Tests.Hubble;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Tests.Cli;

/// <summary>The CLI's errors say what is wrong: no command, no TLS, an untrusted certificate, nothing listening, an unknown pod.</summary>
public sealed class CliErrorMessageTests : IAsyncLifetime
{
    private FlowWatchRuntime _plain = null!;
    private string Plain => _plain.HttpAddress!.ToString().TrimEnd('/');

    public async Task InitializeAsync()
    {
        _plain = new FlowWatchRuntime(new RuntimeOptions { Listen = "127.0.0.1:0" }, NullLoggerFactory.Instance);
        await _plain.StartHttpAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _plain.DisposeAsync();

    [Fact]
    public async Task NoArguments_PrintsTheCommands_AndExitsTwo()
    {
        var r = await CliRun.RunAsync();
        Assert.Equal(2, r.ExitCode);
        foreach (var command in new[] { "demo", "watch", "replay", "simulate", "flows", "findings", "health", "backends" })
            Assert.Contains($"  {command} ", r.Stderr);
    }

    [Fact]
    public async Task HttpsToAPlainHttpServer_SaysItDoesNotSpeakTls()
    {
        var port = _plain.HttpAddress!.Port;
        var r = await CliRun.RunAsync("findings", "--server", $"https://127.0.0.1:{port}");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"flowwatch findings: 127.0.0.1:{port} does not speak TLS (the handshake got no certificate back); if it serves plain HTTP, use --server http://127.0.0.1:{port}",
            r.Stderr.Trim());
    }

    [Fact]
    public async Task HttpsWithACertificateFromAnUnknownCa_SaysNotTrusted()
    {
        using var certs = TestCertificates.Create();
        var certFile = Path.Combine(certs.Directory, "server.crt");
        var keyFile = Path.Combine(certs.Directory, "server.key");
        await File.WriteAllTextAsync(certFile, certs.Server.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, certs.Server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        await using var tls = new FlowWatchRuntime(new RuntimeOptions
        {
            Listen = "127.0.0.1:0",
            Security = new HttpSecurity(new ApiAccessOptions { TlsCertFile = certFile, TlsKeyFile = keyFile }),
        }, NullLoggerFactory.Instance);
        await tls.StartHttpAsync(CancellationToken.None);
        var r = await CliRun.RunAsync("findings", "--server", $"https://127.0.0.1:{tls.HttpAddress!.Port}");
        Assert.Equal(1, r.ExitCode);
        // The test CA is in no system store, and the certificate names relay.flowwatch.test, not 127.0.0.1.
        Assert.Matches("the TLS certificate of 127\\.0\\.0\\.1:\\d+ is not (trusted|for '127\\.0\\.0\\.1')", r.Stderr);
        Assert.DoesNotContain("does not speak TLS", r.Stderr);
    }

    [Fact]
    public async Task NothingListening_SaysConnectionRefusedAtTheAddress()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var r = await CliRun.RunAsync("flows", "--server", $"127.0.0.1:{port}");
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith($"flowwatch flows: cannot reach FlowWatch: connection refused at 127.0.0.1:{port};", r.Stderr);
    }

    [Fact]
    public async Task FlowsOfAnUnknownPod_SayThePodIsUnknown_AndExitOne()
    {
        var r = await CliRun.RunAsync("flows", "--server", Plain, "--pod", "shop/nosuchpod");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("pod shop/nosuchpod is unknown to FlowWatch", r.Stderr);
    }

    [Fact]
    public async Task UnknownPodAndService_InHealthAndBackends_SaySo()
    {
        var health = await CliRun.RunAsync("health", "shop/nosuchpod", "--server", Plain);
        Assert.Equal(1, health.ExitCode);
        Assert.Contains("pod shop/nosuchpod", health.Stderr);
        var backends = await CliRun.RunAsync("backends", "web/nosuchservice", "--server", Plain);
        Assert.Equal(1, backends.ExitCode);
        Assert.Contains("service web/nosuchservice", backends.Stderr);
    }

    [Fact]
    public async Task RootAndApiV1_ListTheEndpoints_AndEveryFixedOneAnswers()
    {
        using var http = new HttpClient { BaseAddress = _plain.HttpAddress };
        var root = await http.GetFromJsonAsync<JsonElement>("/");
        var paths = root.GetProperty("endpoints").EnumerateArray().Select(e => e.GetProperty("path").GetString()!).ToList();
        foreach (var expected in new[] { "/metrics", "/healthz", "/readyz", "/api/v1", "/api/v1/flows", "/api/v1/findings",
                     "/api/v1/pods/{namespace}/{pod}/health", "/api/v1/services/{namespace}/{service}/backends" })
            Assert.Contains(expected, paths);
        var api = await http.GetFromJsonAsync<JsonElement>("/api/v1");
        Assert.All(api.GetProperty("endpoints").EnumerateArray(), e => Assert.StartsWith("/api/v1/", e.GetProperty("path").GetString()));
        foreach (var path in paths.Where(p => !p.Contains('{')))
        {
            using var response = await http.GetAsync(path);
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{path}: {(int)response.StatusCode}");
        }
    }
}
