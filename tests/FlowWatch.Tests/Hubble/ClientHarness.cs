using System.Collections.Concurrent;
using FlowWatch.Flows;
using FlowWatch.Hubble;
using FlowWatch.Metrics;

namespace FlowWatch.Tests.Hubble;

/// <summary>A <see cref="HubbleStreamSource"/> running against a test server, collecting what it hands on.</summary>
public sealed class ClientHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public ClientHarness(string target, HubbleClientOptions? options = null, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Metrics = new PipelineMetrics(Prometheus.Metrics.WithCustomRegistry(Registry));
        Source = new HubbleStreamSource(target, f => { Flows.Enqueue(f); Counts.AddOrUpdate(f.Uuid, 1, (_, n) => n + 1); }, Metrics,
            options ?? Fast, logger: logger);
        _run = Source.RunAsync(_stop.Token);
    }

    /// <summary>Short backoff and no poller, so tests recover quickly.</summary>
    public static HubbleClientOptions Fast => new()
    {
        InitialBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(400),
        StatusPollInterval = TimeSpan.Zero,
    };

    public Prometheus.CollectorRegistry Registry { get; }
    public PipelineMetrics Metrics { get; }
    public HubbleStreamSource Source { get; }
    public ConcurrentQueue<FlowRecord> Flows { get; } = new();
    public ConcurrentDictionary<string, int> Counts { get; } = new();

    /// <summary>Waits (polling, never sleeping blind) until <paramref name="condition"/> holds; fails with <paramref name="what"/> and the client's state at the deadline.</summary>
    public async Task Until(Func<bool> condition, string what, double seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"within {seconds} s: {what}; client state {Source.State}, received {Source.Received}, streams {Source.Streams}, last error {Source.LastError}");
            Assert.False(_run.IsCompleted, $"the client loop ended: {_run.Exception}");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HubbleConnectionState.Stopped, Source.Connection);
    }
}
