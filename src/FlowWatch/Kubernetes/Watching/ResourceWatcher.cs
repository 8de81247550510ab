using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Kubernetes.Watching;

/// <summary>Lists then watches one resource kind, resuming from the last resourceVersion, relisting on 410 Gone, reconnecting with capped backoff.</summary>
/// <remarks>
/// The list replaces the handler's state (so objects deleted while disconnected are dropped); the watch
/// then delivers changes from the list's resourceVersion on, and bookmarks keep that version fresh. A 404 on
/// the first list means the resource (a CRD) is not installed: the watcher logs it once and stands down.
/// </remarks>
public sealed class ResourceWatcher<T, TList> : IResourceWatcher
    where T : IKubernetesObject<V1ObjectMeta>
    where TList : IKubernetesObject<V1ListMeta>, IItems<T>
{
    private readonly Func<CancellationToken, Task<TList>> _list;
    private readonly Func<string, int, CancellationToken, Task<HttpOperationResponse<TList>>> _watch;
    private readonly IResourceHandler<T> _handler;
    private readonly WatchOptions _options;
    private readonly KubeWatchMetrics _metrics;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private long _disconnectedSinceTicks;
    private bool _madeProgress;
    private long _inFlightSinceTicks;
    private string? _rv;
    private volatile WatcherStatus _status = WatcherStatus.Starting;

    public ResourceWatcher(string resource,
        Func<CancellationToken, Task<TList>> list,
        Func<string, int, CancellationToken, Task<HttpOperationResponse<TList>>> watch,
        IResourceHandler<T> handler, WatchOptions options, KubeWatchMetrics metrics, ILogger log, TimeProvider? time = null)
    {
        Resource = resource;
        _list = list;
        _watch = watch;
        _handler = handler;
        _options = options;
        _metrics = metrics;
        _log = log;
        _time = time ?? TimeProvider.System;
        _disconnectedSinceTicks = _time.GetUtcNow().UtcTicks;
        _metrics.Connected.WithLabels(resource).Set(0);
    }

    public string Resource { get; }
    public WatcherStatus Status => _status;
    public long Relists { get; private set; }
    public long Reconnects { get; private set; }
    public string LastResourceVersion { get; private set; } = "";

    /// <summary>Since when the watcher has been failing (or not yet listed); null while healthy or standing down.</summary>
    /// <remarks>
    /// KubernetesClient returns a watch response only once its first line arrives, so a quiet resource's watch
    /// looks pending even when it is open. Healthy therefore means: a list or an event since the last failure,
    /// or a watch request in flight for <see cref="WatchOptions.WatchSettle"/> without failing.
    /// </remarks>
    public DateTimeOffset? DisconnectedSince
    {
        get
        {
            if (_status == WatcherStatus.Absent) return null;
            var failing = Interlocked.Read(ref _disconnectedSinceTicks);
            if (failing == 0) return null;
            if (_status == WatcherStatus.Watching && Settled()) return null;
            return new DateTimeOffset(failing, TimeSpan.Zero);
        }
    }

    private bool Settled() =>
        _time.GetUtcNow().UtcTicks - Interlocked.Read(ref _inFlightSinceTicks) >= _options.WatchSettle.Ticks;

    public async Task RunAsync(CancellationToken ct)
    {
        _rv = null;
        var backoff = _options.InitialBackoff;
        var reason = "start";
        try
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    if (_rv is null)
                    {
                        TList list;
                        try { list = await _list(ct).ConfigureAwait(false); }
                        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound && Relists == 0)
                        {
                            _status = WatcherStatus.Absent;
                            _metrics.Connected.WithLabels(Resource).Set(-1);
                            _log.LogWarning("kubernetes: {Resource} is not served by this API server (404); the features that need it stand down", Resource);
                            return;
                        }
                        _handler.Replace(list.Items ?? []);
                        _rv = list.Metadata?.ResourceVersion ?? "";
                        Relists++;
                        _metrics.Relists.WithLabels(Resource, reason).Inc();
                        _metrics.Objects.WithLabels(Resource).Set(_handler.Count);
                        MarkHealthy();
                    }
                    var outcome = await WatchOnceAsync(_rv, ct).ConfigureAwait(false);
                    if (outcome == WatchOutcome.Gone)
                    {
                        _log.LogInformation("kubernetes: {Resource} watch expired (410 Gone); relisting", Resource);
                        _rv = null;
                        reason = "gone";
                    }
                    else if (outcome == WatchOutcome.Progress) backoff = _options.InitialBackoff;
                    else if (outcome == WatchOutcome.Failed) throw new IOException($"{Resource} watch reported an error");
                    else if (outcome == WatchOutcome.Closed)
                        await Task.Delay(_options.InitialBackoff, _time, ct).ConfigureAwait(false); // closed with nothing said: do not spin
                    Reconnects++;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
                {
                    _rv = null;
                    reason = "gone";
                }
                catch (Exception e)
                {
                    if (_madeProgress) backoff = _options.InitialBackoff;
                    _madeProgress = false;
                    MarkDisconnected();
                    _metrics.Failures.WithLabels(Resource).Inc();
                    _log.LogWarning("kubernetes: {Resource} list/watch failed ({Error}); retrying in {Backoff}", Resource, e.Message, backoff);
                    try { await Task.Delay(Jitter(backoff), _time, ct).ConfigureAwait(false); }
                    catch (OperationCanceledException) { break; }
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
                }
            }
        }
        finally
        {
            if (_status != WatcherStatus.Absent) { _status = WatcherStatus.Stopped; _metrics.Connected.WithLabels(Resource).Set(0); }
        }
    }

    private enum WatchOutcome { Closed, Progress, Gone, Failed }

    private async Task<WatchOutcome> WatchOnceAsync(string rv, CancellationToken ct)
    {
        _madeProgress = false;
        Interlocked.Exchange(ref _inFlightSinceTicks, _time.GetUtcNow().UtcTicks);
        _status = WatcherStatus.Watching;
        _metrics.Connected.WithLabels(Resource).Set(1);
        var response = await _watch(rv, _options.WatchTimeoutSeconds, ct).ConfigureAwait(false);
        var gone = false;
        var failed = false;
        var progress = false;
        void OnError(Exception e)
        {
            if (e is KubernetesException { Status.Code: 410 }) gone = true;
            else if (e is KubernetesException) failed = true;
            else _log.LogWarning("kubernetes: {Resource} watch event not understood: {Error}", Resource, e.Message);
        }
        // The response-based WatchAsync serves core kinds and typed custom resources alike (the generated
        // WatchList*Async for custom objects yields untyped objects), and lets us see the watch open before any event.
#pragma warning disable CS0618
        await foreach (var (type, item) in Task.FromResult(response).WatchAsync<T, TList>(OnError, ct).ConfigureAwait(false))
#pragma warning restore CS0618
        {
            _metrics.Events.WithLabels(Resource, TypeName(type)).Inc();
            switch (type)
            {
                case WatchEventType.Added or WatchEventType.Modified: _handler.Upsert(item); break;
                case WatchEventType.Deleted: _handler.Delete(item); break;
            }
            // Kept in a field: a watch that breaks mid-stream resumes from the last version it delivered.
            if (item?.Metadata?.ResourceVersion is { Length: > 0 } v) { _rv = v; LastResourceVersion = v; }
            if (!progress) MarkHealthy();
            progress = true;
            _madeProgress = true;
            if (gone || failed) break;
        }
        _metrics.Objects.WithLabels(Resource).Set(_handler.Count);
        return gone ? WatchOutcome.Gone : failed ? WatchOutcome.Failed : progress ? WatchOutcome.Progress : WatchOutcome.Closed;
    }

    private static string TypeName(WatchEventType type) => type switch
    {
        WatchEventType.Added => "ADDED",
        WatchEventType.Modified => "MODIFIED",
        WatchEventType.Deleted => "DELETED",
        WatchEventType.Bookmark => "BOOKMARK",
        _ => "ERROR",
    };

    private void MarkHealthy()
    {
        Interlocked.Exchange(ref _disconnectedSinceTicks, 0);
        _status = WatcherStatus.Watching;
        _metrics.Connected.WithLabels(Resource).Set(1);
    }

    private void MarkDisconnected()
    {
        // A new run of failures starts the stale clock; further failures in the same run keep it.
        var healthyBefore = Interlocked.Read(ref _disconnectedSinceTicks) == 0 || (_status == WatcherStatus.Watching && Settled());
        if (healthyBefore) Interlocked.Exchange(ref _disconnectedSinceTicks, _time.GetUtcNow().UtcTicks);
        if (_status != WatcherStatus.Starting) _status = WatcherStatus.Disconnected;
        _metrics.Connected.WithLabels(Resource).Set(0);
    }

    private static TimeSpan Jitter(TimeSpan backoff) =>
        TimeSpan.FromTicks(backoff.Ticks / 2 + Random.Shared.NextInt64(backoff.Ticks / 2 + 1));
}

/// <summary>A watcher of one resource kind, as the cluster watcher and readiness see it.</summary>
public interface IResourceWatcher
{
    string Resource { get; }
    WatcherStatus Status { get; }
    DateTimeOffset? DisconnectedSince { get; }
    long Relists { get; }
    Task RunAsync(CancellationToken ct);
}
