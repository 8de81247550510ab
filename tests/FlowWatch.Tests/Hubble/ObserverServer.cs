using System.Net;
using System.Security.Cryptography.X509Certificates;
using FlowWatch.Simulation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Tests.Hubble;

/// <summary>
/// A Kestrel server on 127.0.0.1 (or a unix socket) answering observer.Observer for the client tests: either the
/// simulator's real <see cref="SimulatorService"/> over a ring the test controls, or a raw GetFlows handler that can
/// send exactly the frames a test wants (garbage, stalls, error statuses).
/// </summary>
public sealed class ObserverServer : IAsyncDisposable
{
    private WebApplication? _app;
    private SimulatorService? _service;

    public sealed record Settings
    {
        public int Port { get; init; }
        public string? UnixSocket { get; init; }
        public X509Certificate2? ServerCertificate { get; init; }
        /// <summary>With a certificate: clients must present one that chains to this CA.</summary>
        public X509Certificate2? RequireClientCa { get; init; }
        /// <summary>Serves the simulator's service over this ring when set.</summary>
        public (SimulatedCluster Cluster, FlowRing Ring)? Simulator { get; init; }
        /// <summary>Otherwise GetFlows is answered by this raw handler (call number from 1, context).</summary>
        public Func<int, HttpContext, Task>? RawGetFlows { get; init; }
        /// <summary>Further raw routes (for example ServerStatus, GetNodes) beside a raw GetFlows.</summary>
        public Action<WebApplication>? MapRaw { get; init; }
    }

    private readonly Settings _settings;
    private int _calls;

    public ObserverServer(Settings settings) => _settings = settings;

    public int Port { get; private set; }
    public int Calls => Volatile.Read(ref _calls);
    /// <summary>Client certificates the server refused during the TLS handshake.</summary>
    public int RefusedClients;

    public string PlainTarget => $"127.0.0.1:{Port}";
    public string TlsTarget => $"https://127.0.0.1:{Port}";

    public async Task StartAsync(CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            void Configure(ListenOptions o)
            {
                o.Protocols = HttpProtocols.Http2;
                if (_settings.ServerCertificate is { } cert)
                    o.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = cert,
                        ClientCertificateMode = _settings.RequireClientCa is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.RequireCertificate,
                        ClientCertificateValidation = (client, _, _) =>
                        {
                            var ok = _settings.RequireClientCa is { } ca && TestCertificates.ChainsTo(client, ca);
                            if (!ok) Interlocked.Increment(ref RefusedClients);
                            return ok;
                        },
                    });
            }
            if (_settings.UnixSocket is { } path) k.ListenUnixSocket(path, Configure);
            else k.Listen(IPAddress.Loopback, _settings.Port, Configure);
        });
        if (_settings.Simulator is { } sim)
        {
            builder.Services.AddGrpc();
            _service = new SimulatorService(new SimulatorOptions { Listen = "127.0.0.1:0" }, sim.Cluster, sim.Ring);
            builder.Services.AddSingleton(_service);
        }
        var app = builder.Build();
        if (_settings.Simulator is not null) app.MapGrpcService<SimulatorService>();
        else if (_settings.RawGetFlows is { } raw)
            app.MapPost("/observer.Observer/GetFlows", ctx => raw(Interlocked.Increment(ref _calls), ctx));
        _settings.MapRaw?.Invoke(app);
        await app.StartAsync(ct);
        _app = app;
        if (_settings.UnixSocket is null) Port = new Uri(app.Urls.First()).Port;
    }

    /// <summary>Ends open streams (as a Relay going away does) and stops listening.</summary>
    public async Task StopAsync()
    {
        if (_app is null) return;
        _service?.Stop();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try { await _app.StopAsync(timeout.Token); } catch (OperationCanceledException) { }
        await _app.DisposeAsync();
        _app = null;
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
