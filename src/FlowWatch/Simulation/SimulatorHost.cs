using System.Net;
using FlowWatch.Hosting;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Simulation;

/// <summary>The simulator as a server: Kestrel (HTTP/2 without TLS) serving observer.Observer over a live simulated cluster.</summary>
/// <example>
/// <code>
/// await using var sim = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", Scenarios = ScenarioSet.All });
/// await sim.StartAsync(ct);
/// var channel = GrpcChannel.ForAddress(sim.Address);
/// </code>
/// </example>
public sealed class SimulatorHost : IAsyncDisposable
{
    private readonly ILoggerFactory? _loggerFactory;
    private readonly TimeProvider _time;
    private WebApplication? _app;
    private bool _stopped;

    public SimulatorHost(SimulatorOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? time = null)
    {
        options.Validate();
        Options = options;
        _loggerFactory = loggerFactory;
        _time = time ?? TimeProvider.System;
        Cluster = new SimulatedCluster(options.Seed, options.Nodes);
        Ring = new FlowRing(options.BufferSize, Cluster.Nodes.Select(n => n.Name).ToList());
        Service = new SimulatorService(options, Cluster, Ring, _time);
        Feed = new SimulatorFeed(options, Cluster, Ring, _time);
    }

    public SimulatorOptions Options { get; }
    public SimulatedCluster Cluster { get; }
    public FlowRing Ring { get; }
    public SimulatorService Service { get; }
    public SimulatorFeed Feed { get; }

    /// <summary>When the server started: the event time the live traffic starts at (null before).</summary>
    public DateTimeOffset? StartedAt { get; private set; }

    /// <summary>The fake cluster state matching the live traffic (pods, endpoints, agents, ENIs, the NodePort service), for <c>FlowPipeline.Apply</c>.</summary>
    public IReadOnlyList<Kubernetes.ClusterEvent> ClusterView() =>
        Cluster.ClusterView(Options.Scenarios, StartedAt ?? throw new InvalidOperationException("the simulator has not started"));

    /// <summary>The bound endpoint (port 0 resolved), once started.</summary>
    public IPEndPoint? EndPoint { get; private set; }

    /// <summary>"http://host:port" for <c>GrpcChannel.ForAddress</c>, once started.</summary>
    public Uri Address => EndPoint is { } ep ? new Uri($"http://{HostText(ep.Address)}:{ep.Port}")
        : throw new InvalidOperationException("the simulator has not started");

    private static string HostText(IPAddress ip) =>
        ip.Equals(IPAddress.Any) ? "127.0.0.1"
        : ip.Equals(IPAddress.IPv6Any) ? "[::1]"
        : ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]"
        : ip.ToString();

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null) throw new InvalidOperationException("the simulator is already started");
        var listen = HttpEndpoint.ParseListen(Options.Listen);
        var builder = WebApplication.CreateSlimBuilder();
        // Signals belong to the process (ShutdownSignal): a nested host that handled them would swallow the second Ctrl+C.
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime>(new FlowWatch.Hosting.SignalFreeLifetime());
        builder.Logging.ClearProviders();
        if (_loggerFactory is not null) builder.Services.AddSingleton(_loggerFactory);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(listen, o => o.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(Service);
        builder.Services.AddSingleton(HealthService());
        builder.Services.AddSingleton<IHostedService>(Feed);
        var app = builder.Build();
        app.MapGrpcService<SimulatorService>();
        app.MapGrpcService<HealthServiceImpl>();
        StartedAt = _time.GetUtcNow();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
        var bound = new Uri(app.Urls.First());
        EndPoint = new IPEndPoint(IPAddress.Parse(bound.Host.Trim('[', ']')), bound.Port);
    }

    /// <summary>grpc.health.v1.Health as a Hubble server answers it: "" and "hubble.server.Observer" SERVING (hubble status asks first).</summary>
    public static HealthServiceImpl HealthService()
    {
        var health = new HealthServiceImpl();
        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.Serving);
        health.SetStatus("hubble.server.Observer", HealthCheckResponse.Types.ServingStatus.Serving);
        return health;
    }

    /// <summary>Ends open streams, stops the generator and the server.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_app is null || _stopped) return;
        _stopped = true;
        Service.Stop();
        await _app.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try { await StopAsync(timeout.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        await _app.DisposeAsync().ConfigureAwait(false);
        _app = null;
    }
}
