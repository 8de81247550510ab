using System.Collections.Concurrent;
using FlowWatch.Kubernetes;
using FlowWatch.Kubernetes.Watching;
using Prometheus;

namespace FlowWatch.Tests.Kube;

/// <summary>A fake API server and FlowWatch's cluster watcher driven against it through KubernetesClient, as in production.</summary>
internal sealed class KubeHarness : IAsyncDisposable
{
    public static readonly WatchOptions Fast = new()
    {
        InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50), StaleAfter = TimeSpan.FromMilliseconds(300),
        WatchSettle = TimeSpan.FromMilliseconds(100), WatchList = false,
    };

    /// <summary><see cref="Fast"/> with watch-list streaming on, as in production.</summary>
    public static readonly WatchOptions Streaming = Fast with { WatchList = true };

    private readonly CancellationTokenSource _cts = new(TimeSpan.FromSeconds(60));
    private Task? _run;

    private KubeHarness(FakeApiServer api, WatchOptions options)
    {
        Api = api;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        MetricFactory = Prometheus.Metrics.WithCustomRegistry(Registry);
        Metrics = new KubeWatchMetrics(MetricFactory);
        View = new ClusterView(Events.Enqueue, options, Metrics);
        Watcher = new ClusterWatcher(api.Client(), View, options, Metrics, Log);
    }

    public ListLogger Log { get; } = new();
    public FakeApiServer Api { get; }
    public CollectorRegistry Registry { get; }
    public IMetricFactory MetricFactory { get; }
    public KubeWatchMetrics Metrics { get; }
    public ClusterView View { get; }
    public ClusterWatcher Watcher { get; }
    public ConcurrentQueue<ClusterEvent> Events { get; } = new();
    public CancellationToken Token => _cts.Token;

    public static async Task<KubeHarness> StartAsync(Action<FakeApiServer>? seed = null, WatchOptions? options = null)
    {
        var api = await FakeApiServer.StartAsync();
        seed?.Invoke(api);
        return new KubeHarness(api, options ?? Fast);
    }

    public void Run() => _run = Watcher.RunAsync(_cts.Token);

    /// <param name="seconds">Deadline; the 12,000-pod lists on a loaded machine need more than the default.</param>
    public Task SyncedAsync(double seconds = 10) => Eventually.True(() => Watcher.Synced &&
        Watcher.Watchers.All(w => w.Status is WatcherStatus.Watching or WatcherStatus.Absent), "every watcher listed and watching", seconds);

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        if (_run is not null) await _run.WaitAsync(TimeSpan.FromSeconds(10));
        await Api.DisposeAsync();
        _cts.Dispose();
    }
}
