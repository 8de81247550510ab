using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using FlowWatch.Security;
using Prometheus;

namespace FlowWatch.Hosting;

/// <summary>A readiness condition: null when fine, else the reason FlowWatch is not ready.</summary>
public delegate string? ReadinessCheck();

/// <summary>Information /readyz adds to its answer without ever failing it (leadership, for one); null when there is nothing to say.</summary>
public delegate string? ReadinessNote();

/// <summary>FlowWatch's HTTP side: /metrics, /healthz, /readyz and whatever routes the caller maps (the API).</summary>
public sealed class HttpEndpoint : IAsyncDisposable
{
    /// <summary>Open connections at most; more wait in the listen backlog.</summary>
    public const int MaxConnections = 1024;

    private readonly WebApplication _app;

    private HttpEndpoint(WebApplication app) => _app = app;

    /// <summary>The address actually bound (port 0 resolved).</summary>
    public Uri Address { get; private set; } = new("http://127.0.0.1/");

    public static async Task<HttpEndpoint> StartAsync(
        string listen, CollectorRegistry registry, IReadOnlyList<ReadinessCheck> readiness,
        Action<IEndpointRouteBuilder>? mapRoutes, ILoggerFactory loggerFactory, CancellationToken ct,
        HttpSecurity? security = null, IReadOnlyList<ReadinessNote>? notes = null)
    {
        security ??= HttpSecurity.Open;
        var endpoint = ParseListen(listen);
        var builder = WebApplication.CreateSlimBuilder();
        // Signals belong to the process (ShutdownSignal): a nested host that handled them would swallow the second Ctrl+C.
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime>(new FlowWatch.Hosting.SignalFreeLifetime());
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        // The slim builder leaves HTTPS out unless asked.
        if (security.Certificate is not null) builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(endpoint, o => { if (security.Certificate is { } cert) o.UseHttps(cert); });
            k.AddServerHeader = false;
            // Connections cost memory before admission control sees a request: bound them too.
            k.Limits.MaxConcurrentConnections = MaxConnections;
        });
        var app = builder.Build();
        var access = new ApiAccessMiddleware(security.Authenticators, security.Options.ProtectMetrics, Prometheus.Metrics.WithCustomRegistry(registry));
        app.Use((context, next) => access.InvokeAsync(context, _ => next()));
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", () =>
        {
            var reasons = readiness.Select(check => check()).OfType<string>().ToList();
            // The verdict stays the first line, so a probe or a script reading it sees what it always saw; notes follow.
            var detail = string.Concat((notes ?? []).Select(note => note()).OfType<string>().Select(n => n + "\n"));
            return reasons.Count == 0
                ? Results.Text("ready\n" + detail)
                : Results.Text("not ready: " + string.Join("; ", reasons) + "\n" + detail, statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        app.MapMetrics("/metrics", registry);
        mapRoutes?.Invoke(app);
        await app.StartAsync(ct).ConfigureAwait(false);
        var http = new HttpEndpoint(app);
        var bound = app.Urls.FirstOrDefault() ?? $"http://{endpoint}";
        http.Address = new Uri(bound.Replace("[::]", "127.0.0.1").Replace("0.0.0.0", "127.0.0.1"));
        if (security.Certificate is not null && http.Address.Scheme == "http")
            http.Address = new UriBuilder(http.Address) { Scheme = "https" }.Uri;
        return http;
    }

    /// <summary>"127.0.0.1:9090", ":9090" (all interfaces) or "0.0.0.0:9090".</summary>
    public static IPEndPoint ParseListen(string listen)
    {
        var text = listen.Trim();
        if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) text = text[7..].TrimEnd('/');
        var colon = text.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(text[(colon + 1)..], out var port) || port is < 0 or > 65535)
            throw new FormatException($"'{listen}' is not HOST:PORT (for example 127.0.0.1:9090 or :9090)");
        var host = text[..colon].Trim('[', ']');
        if (host.Length == 0) return new IPEndPoint(IPAddress.Any, port);
        if (host == "localhost") return new IPEndPoint(IPAddress.Loopback, port);
        if (!IPAddress.TryParse(host, out var ip))
            throw new FormatException($"'{host}' in '{listen}' is not an IP address to listen on");
        return new IPEndPoint(ip, port);
    }

    /// <summary>At close, how long requests in flight may take to finish before their connections are cut.</summary>
    /// <remarks>Short: the endpoint closes last in a shutdown that must end within a second of the signal; idle keep-alive
    /// connections close at once, and a query cut short is simply asked again of the next process.</remarks>
    public static readonly TimeSpan CloseGrace = TimeSpan.FromMilliseconds(200);

    public async ValueTask DisposeAsync()
    {
        StopTrace.Mark("http: closing");
        using var stop = new CancellationTokenSource(CloseGrace);
        try { await _app.StopAsync(stop.Token).ConfigureAwait(false); } catch (OperationCanceledException) { }
        StopTrace.Mark("http: stopped");
        await _app.DisposeAsync().ConfigureAwait(false);
        StopTrace.Mark("http: disposed");
    }
}
