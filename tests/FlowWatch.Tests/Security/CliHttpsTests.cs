using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FlowWatch.Hosting;
using FlowWatch.Security;
using FlowWatch.Tests.Api;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Tests.Security;

/// <summary>The CLI against a FlowWatch serving HTTPS with a private CA's certificate (and a token).</summary>
public sealed class CliHttpsTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-clihttps-").FullName;
    private FlowWatchRuntime _runtime = null!;

    private string CaFile => Path.Combine(_dir, "ca.crt");
    private string TokenFile => Path.Combine(_dir, "token");
    private string Server => _runtime.HttpAddress!.ToString();

    public async Task InitializeAsync()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=FlowWatch API test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddHours(1));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=flowwatch", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leaf = request.Create(ca, now.AddMinutes(-5), now.AddHours(1), [1, 2, 3, 4]);
        await File.WriteAllTextAsync(CaFile, ca.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_dir, "tls.crt"), leaf.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_dir, "tls.key"), key.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(TokenFile, "https-token-5e2f\n");
        _runtime = new FlowWatchRuntime(new RuntimeOptions
        {
            Listen = "127.0.0.1:0",
            Security = new HttpSecurity(new ApiAccessOptions
            {
                TokenFile = TokenFile, TlsCertFile = Path.Combine(_dir, "tls.crt"), TlsKeyFile = Path.Combine(_dir, "tls.key"),
            }),
        }, NullLoggerFactory.Instance);
        await _runtime.StartHttpAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Https_WithCaFileAndToken_IsServed()
    {
        Assert.StartsWith("https://", Server);
        var r = await CliRun.RunAsync("findings", "--server", Server, "--ca-file", CaFile, "--token-file", TokenFile);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("no findings", r.Stdout);
    }

    [Fact]
    public async Task Https_WithoutTheCa_IsRefused_WithTheCaFileHint()
    {
        var r = await CliRun.RunAsync("findings", "--server", Server, "--token-file", TokenFile);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("is not trusted", r.Stderr);
        Assert.Contains("--ca-file", r.Stderr);
    }

    public async Task DisposeAsync()
    {
        await _runtime.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
