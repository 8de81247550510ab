using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Kubernetes.Watching;

/// <summary>Lists then watches one resource kind, resuming from the last resourceVersion, relisting on 410 Gone, reconnecting with capped backoff.</summary>
/// <remarks>
/// As client-go's reflector: the list arrives in pages of <see cref="WatchOptions.ListPageSize"/> (<c>limit</c> and
/// <c>continue</c>), each page handed to the handler and dropped before the next is asked for; a continue token that
/// expires mid-list (410) restarts the list from the first page, since the token in the 410 would give an
/// inconsistent list. Where the server serves watch-list (<c>sendInitialEvents=true</c>), one watch streams the
/// state object by object up to the bookmark annotated <c>k8s.io/initial-events-end</c>, then goes on as a watch;
/// a server that refuses it (or ends the stream without that bookmark) gets paged list-then-watch from then on.
/// A full list replaces the handler's state (so objects deleted while disconnected are dropped); the watch then
/// delivers changes from the list's resourceVersion on, and bookmarks keep that version fresh. A 404 on the first
/// list means the resource (a CRD) is not installed: the watcher logs it once and stands down.
/// </remarks>
public sealed class ResourceWatcher<T, TList> : IResourceWatcher
    where T : IKubernetesObject<V1ObjectMeta>
    where TList : IKubernetesObject<V1ListMeta>, IItems<T>
{
    private readonly ListPage<TList> _list;
    private readonly OpenWatch<TList> _watch;
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
    private TimeSpan _backoff;
    private string _reason = "start";
    private bool _watchListRefused;

    public ResourceWatcher(string resource,
        ListPage<TList> list, OpenWatch<TList> watch,
        IResourceHandler<T> handler, WatchOptions options, KubeWatchMetrics metrics, ILogger log, TimeProvider? time = null,
        bool watchList = true)
    {
        _watchListRefused = !watchList;
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

    /// <summary>The annotation on the bookmark that ends a watch-list's initial events.</summary>
    public const string InitialEventsEnd = "k8s.io/initial-events-end";

    public string Resource { get; }
    public WatcherStatus Status => _status;
    public long Relists { get; private set; }
    public long Reconnects { get; private set; }
    public string LastResourceVersion { get; private set; } = "";

    /// <summary>True once the server refused watch-list for this kind: it is synced by paged lists from then on.</summary>
    public bool WatchListRefused => _watchListRefused;

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
        _backoff = _options.InitialBackoff;
        _reason = "start";
        try
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    var streaming = _options.WatchList && !_watchListRefused;
                    if (_rv is null && !streaming && !await ListAsync(ct).ConfigureAwait(false)) return;   // absent: stand down
                    var outcome = await WatchOnceAsync(_rv, ct).ConfigureAwait(false);
                    Reconnects++;
                    switch (outcome)
                    {
                        case WatchOutcome.Gone:
                            _log.LogInformation("kubernetes: {Resource} watch expired (410 Gone); relisting", Resource);
                            _rv = null;
                            _reason = "gone";
                            break;
                        case WatchOutcome.Progress: _backoff = _options.InitialBackoff; break;
                        case WatchOutcome.Failed: throw new IOException($"{Resource} watch reported an error");
                        case WatchOutcome.Closed:
                            await Task.Delay(_options.InitialBackoff, _time, ct).ConfigureAwait(false); // closed with nothing said: do not spin
                            break;
                    }
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
                {
                    _rv = null;
                    _reason = "gone";
                }
                catch (Exception e)
                {
                    if (_madeProgress) _backoff = _options.InitialBackoff;
                    _madeProgress = false;
                    MarkDisconnected();
                    _metrics.Failures.WithLabels(Resource).Inc();
                    _log.LogWarning("kubernetes: {Resource} list/watch failed ({Error}); retrying in {Backoff}", Resource, e.Message, _backoff);
                    try { await Task.Delay(Jitter(_backoff), _time, ct).ConfigureAwait(false); }
                    catch (OperationCanceledException) { break; }
                    _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, _options.MaxBackoff.Ticks));
                }
            }
        }
        finally
        {
            if (_status != WatcherStatus.Absent) { _status = WatcherStatus.Stopped; _metrics.Connected.WithLabels(Resource).Set(0); }
        }
    }

    /// <summary>One full list, page by page; false when the resource is not served (404 on the first list ever).</summary>
    private async Task<bool> ListAsync(CancellationToken ct)
    {
        int? limit = _options.ListPageSize > 0 ? _options.ListPageSize : null;
        _handler.BeginReplace();
        string? next = null;
        string? rv = null;
        var restarts = 0;
        while (true)
        {
            TList page;
            try { page = await _list(next, limit, ct).ConfigureAwait(false); }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound && Relists == 0 && next is null)
            {
                _status = WatcherStatus.Absent;
                _metrics.Connected.WithLabels(Resource).Set(-1);
                _log.LogWarning("kubernetes: {Resource} is not served by this API server (404); the features that need it stand down", Resource);
                return false;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone && next is not null && restarts < _options.MaxListRestarts)
            {
                // The server offers a token for the rest of the list at a newer version; taking it would mix two
                // versions of the cluster (client-go's pager also starts over). Start over from the first page.
                restarts++;
                _metrics.ListRestarts.WithLabels(Resource).Inc();
                _log.LogInformation("kubernetes: {Resource} list's continue token expired (410); listing again from the first page", Resource);
                _handler.BeginReplace();
                (next, rv) = (null, null);
                continue;
            }
            rv ??= page.Metadata?.ResourceVersion ?? "";
            next = page.Metadata?.ContinueProperty;
            _handler.ReplacePage(page.Items ?? []);
            page = default!;   // dropped before the next page is asked for: at most one page's objects live at a time
            _metrics.Pages.WithLabels(Resource).Inc();
            MarkHealthy();
            if (string.IsNullOrEmpty(next)) break;
        }
        _handler.EndReplace();
        _rv = rv;
        Synced(0);
        return true;
    }

    private void Synced(int watchList)
    {
        Relists++;
        _metrics.Relists.WithLabels(Resource, _reason).Inc();
        _metrics.Objects.WithLabels(Resource).Set(_handler.Count);
        _metrics.SyncMode.WithLabels(Resource).Set(watchList);
        MarkHealthy();
    }

    private enum WatchOutcome { Closed, Progress, Gone, Failed, Refused }

    /// <summary>One watch request: from <paramref name="rv"/>, or with <paramref name="rv"/> null a watch-list that first streams the state.</summary>
    private async Task<WatchOutcome> WatchOnceAsync(string? rv, CancellationToken ct)
    {
        var streaming = rv is null;
        _madeProgress = false;
        Interlocked.Exchange(ref _inFlightSinceTicks, _time.GetUtcNow().UtcTicks);
        if (!streaming || Relists > 0) _status = WatcherStatus.Watching;
        _metrics.Connected.WithLabels(Resource).Set(1);
        HttpOperationResponse<TList> response;
        try { response = await _watch(rv, _options.WatchTimeoutSeconds, streaming, ct).ConfigureAwait(false); }
        catch (HttpOperationException e) when (streaming && IsRefusal(e.Response.StatusCode))
        {
            return RefuseWatchList($"{(int)e.Response.StatusCode} {Reason(e)}");
        }
        if (streaming) _handler.BeginReplace();
        var initial = streaming;
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
                case WatchEventType.Added or WatchEventType.Modified when initial: _handler.ReplacePage([item]); break;
                case WatchEventType.Added or WatchEventType.Modified: _handler.Upsert(item); break;
                case WatchEventType.Deleted: _handler.Delete(item); break;
                case WatchEventType.Bookmark when initial && item?.Metadata?.Annotations?.TryGetValue(InitialEventsEnd, out var end) == true && end == "true":
                    initial = false;
                    _handler.EndReplace();
                    _rv = item.Metadata.ResourceVersion ?? "";
                    Synced(1);
                    break;
            }
            // Kept in a field: a watch that breaks mid-stream resumes from the last version it delivered; not while
            // a watch-list is still streaming the state, which is no consistent point to resume from.
            if (!initial && item?.Metadata?.ResourceVersion is { Length: > 0 } v) { _rv = v; LastResourceVersion = v; }
            if (!progress && !initial) MarkHealthy();
            progress = true;
            _madeProgress = true;
            if (gone || failed) break;
        }
        _metrics.Objects.WithLabels(Resource).Set(_handler.Count);
        if (initial && !gone && !failed && !ct.IsCancellationRequested)
            return RefuseWatchList("the stream ended without the initial-events-end bookmark");
        return gone ? WatchOutcome.Gone : failed ? WatchOutcome.Failed : progress ? WatchOutcome.Progress : WatchOutcome.Closed;
    }

    /// <summary>4xx but not 410/429: the server does not serve watch-list (an older server, the WatchList feature gate off).</summary>
    private static bool IsRefusal(HttpStatusCode code) => (int)code is >= 400 and < 500 and not 410 and not 429 and not 401;

    private static string Reason(HttpOperationException e) =>
        e.Response.Content is { Length: > 0 } c ? (c.Length > 200 ? c[..200] : c) : e.Message;

    private WatchOutcome RefuseWatchList(string why)
    {
        _watchListRefused = true;
        _metrics.SyncMode.WithLabels(Resource).Set(0);
        _log.LogInformation("kubernetes: {Resource}: the API server does not serve watch-list ({Why}); paged list then watch from now on", Resource, why);
        return WatchOutcome.Refused;
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

/// <summary>One list request: the page after <paramref name="continueToken"/> (the first when null), at most <paramref name="limit"/> objects (all when null).</summary>
public delegate Task<TList> ListPage<TList>(string? continueToken, int? limit, CancellationToken ct);

/// <summary>One watch request from <paramref name="resourceVersion"/>; with <paramref name="sendInitialEvents"/>, a watch-list (resourceVersionMatch=NotOlderThan, bookmarks on).</summary>
public delegate Task<HttpOperationResponse<TList>> OpenWatch<TList>(string? resourceVersion, int timeoutSeconds, bool sendInitialEvents, CancellationToken ct);

/// <summary>A watcher of one resource kind, as the cluster watcher and readiness see it.</summary>
public interface IResourceWatcher
{
    string Resource { get; }
    WatcherStatus Status { get; }
    DateTimeOffset? DisconnectedSince { get; }
    long Relists { get; }
    Task RunAsync(CancellationToken ct);
}
