using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Hubble;
using FlowWatch.Simulation;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Tests.Api;

/// <summary>The demo's pipeline behind the query API: simulator over loopback gRPC, follower, runtime, HTTP on 127.0.0.1:0.</summary>
/// <remarks>Started once for the API tests; ready when the store holds drops and the DNS finding is open.</remarks>
public sealed class DemoServer : IAsyncLifetime
{
    private readonly CancellationTokenSource _stop = new();
    private SimulatorHost? _sim;
    private Task? _pump, _stream;

    public FlowWatchRuntime Runtime { get; private set; } = null!;
    public Uri Address => Runtime.HttpAddress!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _sim = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 3000, Scenarios = ScenarioSet.All });
        await _sim.StartAsync(timeout.Token);
        Runtime = new FlowWatchRuntime(new RuntimeOptions { Listen = "127.0.0.1:0" }, NullLoggerFactory.Instance);
        await Runtime.StartHttpAsync(timeout.Token);
        foreach (var change in _sim.ClusterView()) Runtime.Intake.Write(change);
        var source = new HubbleStreamSource(_sim.Address.ToString(), f => Runtime.Intake.Write(f), Runtime.Pipeline.Metrics);
        _pump = Runtime.RunAsync(live: true, _stop.Token);
        _stream = source.RunAsync(_stop.Token);
        Http = new HttpClient { BaseAddress = Address };
        while (Runtime.Store.Query(new FlowWatch.Store.FlowQuery { Verdict = Verdict.Dropped, Limit = 1 }).Flows.Count == 0 ||
               !Runtime.Pipeline.Book.OpenFindings.Any(f => f.Kind == Findings.FindingKind.DnsDrops))
        {
            if (timeout.IsCancellationRequested)
                throw new TimeoutException($"no drops and DNS finding within 60 s; store holds {Runtime.Store.Count}");
            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        _stop.Cancel();
        if (_stream is not null) await _stream;
        if (_pump is not null) await _pump;
        Http.Dispose();
        await Runtime.DisposeAsync();
        if (_sim is not null) await _sim.DisposeAsync();
    }
}
