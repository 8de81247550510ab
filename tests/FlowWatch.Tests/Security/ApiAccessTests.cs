using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FlowWatch.Hosting;
using FlowWatch.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace FlowWatch.Tests.Security;

/// <summary>The query API refuses callers without an accepted token while /metrics and the probes stay open, over real HTTP(S) on loopback.</summary>
public sealed class ApiAccessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-auth-").FullName;

    private static void MapProbeApi(IEndpointRouteBuilder app) => app.MapGet("/api/v1/ping", () => Results.Json(new { pong = true }));

    private async Task<HttpEndpoint> Start(HttpSecurity security) =>
        await HttpEndpoint.StartAsync("127.0.0.1:0", Prometheus.Metrics.NewCustomRegistry(), [], MapProbeApi, NullLoggerFactory.Instance, CancellationToken.None, security);

    private static async Task<HttpStatusCode> Get(HttpClient client, Uri baseAddress, string path, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, path));
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task TokenFile_RefusesMissingAndWrongTokens_ServesTheRightOne_LeavesMetricsAndProbesOpen()
    {
        var tokenFile = Path.Combine(_dir, "token");
        await File.WriteAllTextAsync(tokenFile, "s3cret-token\n");
        await using var http = await Start(new HttpSecurity(new ApiAccessOptions { TokenFile = tokenFile }));
        using var client = new HttpClient();

        Assert.Equal(HttpStatusCode.Unauthorized, await Get(client, http.Address, "/api/v1/ping"));
        Assert.Equal(HttpStatusCode.Unauthorized, await Get(client, http.Address, "/api/v1/ping", "wrong"));
        Assert.Equal(HttpStatusCode.OK, await Get(client, http.Address, "/api/v1/ping", "s3cret-token"));
        Assert.Equal(HttpStatusCode.OK, await Get(client, http.Address, "/metrics"));
        Assert.Equal(HttpStatusCode.OK, await Get(client, http.Address, "/healthz"));

        // Secret rotation: the new token works and the old one stops working, with no restart.
        await File.WriteAllTextAsync(tokenFile, "rotated");
        File.SetLastWriteTimeUtc(tokenFile, DateTime.UtcNow.AddSeconds(5));
        Assert.Equal(HttpStatusCode.OK, await Get(client, http.Address, "/api/v1/ping", "rotated"));
        Assert.Equal(HttpStatusCode.Unauthorized, await Get(client, http.Address, "/api/v1/ping", "s3cret-token"));

        var metrics = await client.GetStringAsync(new Uri(http.Address, "/metrics"));
        Assert.Contains("flowwatch_api_auth_total{result=\"missing_token\"} 1", metrics);
        Assert.Contains("flowwatch_api_auth_total{result=\"bad_token\"} 2", metrics);
    }

    [Fact]
    public async Task ProtectMetrics_AlsoGuardsMetrics_ButNotTheProbes()
    {
        var tokenFile = Path.Combine(_dir, "token");
        await File.WriteAllTextAsync(tokenFile, "t");
        await using var http = await Start(new HttpSecurity(new ApiAccessOptions { TokenFile = tokenFile, ProtectMetrics = true }));
        using var client = new HttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, await Get(client, http.Address, "/metrics"));
        Assert.Equal(HttpStatusCode.OK, await Get(client, http.Address, "/metrics", "t"));
        Assert.Equal(HttpStatusCode.OK, await Get(client, http.Address, "/readyz"));
    }

    [Fact]
    public async Task Tls_ServesHttpsWithTheGivenCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=flowwatch.test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        var certFile = Path.Combine(_dir, "tls.crt");
        var keyFile = Path.Combine(_dir, "tls.key");
        await File.WriteAllTextAsync(certFile, cert.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());

        await using var http = await Start(new HttpSecurity(new ApiAccessOptions { TlsCertFile = certFile, TlsKeyFile = keyFile }));
        Assert.Equal("https", http.Address.Scheme);
        var thumbprint = cert.Thumbprint;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == thumbprint,
        };
        using var client = new HttpClient(handler);
        Assert.Equal(HttpStatusCode.OK, await Get(client, http.Address, "/api/v1/ping"));
        using var plain = new HttpClient();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync(new Uri(http.Address, "/healthz")));
    }

    [Fact]
    public async Task TokenReview_AsksTheApiServer_AndServesOnlyWhatItAuthenticates()
    {
        var reviews = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var api = builder.Build();
        api.MapPost("/apis/authentication.k8s.io/v1/tokenreviews", async (HttpRequest req) =>
        {
            Interlocked.Increment(ref reviews);
            using var doc = await System.Text.Json.JsonDocument.ParseAsync(req.Body);
            var token = doc.RootElement.GetProperty("spec").GetProperty("token").GetString();
            var ok = token == "sa-token-of-oncall";
            return Results.Json(new
            {
                apiVersion = "authentication.k8s.io/v1", kind = "TokenReview",
                status = new { authenticated = ok, user = ok ? new { username = "system:serviceaccount:ops:oncall" } : null },
            });
        });
        await api.StartAsync();
        var kube = new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = api.Urls.First() });
        await using var http = await Start(new HttpSecurity(new ApiAccessOptions { TokenReview = true }, () => kube));
        using var client = new HttpClient();

        Assert.Equal(HttpStatusCode.Unauthorized, await Get(client, http.Address, "/api/v1/ping", "stolen-or-expired"));
        Assert.Equal(HttpStatusCode.OK, await Get(client, http.Address, "/api/v1/ping", "sa-token-of-oncall"));
        Assert.Equal(HttpStatusCode.OK, await Get(client, http.Address, "/api/v1/ping", "sa-token-of-oncall"));
        Assert.Equal(2, reviews); // the repeat was answered from the cache
        await api.StopAsync();
    }

    [Fact]
    public void BadSettings_FailFast_NamingTheFlag()
    {
        var missing = Assert.Throws<ArgumentException>(() => new HttpSecurity(new ApiAccessOptions { TokenFile = Path.Combine(_dir, "nope") }));
        Assert.Contains("--api-token-file", missing.Message);
        var half = Assert.Throws<ArgumentException>(() => new HttpSecurity(new ApiAccessOptions { TlsCertFile = "a.crt" }));
        Assert.Contains("--listen-tls-key", half.Message);
        var noKube = Assert.Throws<ArgumentException>(() => new HttpSecurity(new ApiAccessOptions { TokenReview = true }));
        Assert.Contains("--api-token-review", noKube.Message);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
