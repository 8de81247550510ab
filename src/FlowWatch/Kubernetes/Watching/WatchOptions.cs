namespace FlowWatch.Kubernetes.Watching;

/// <summary>How the watchers reconnect and when the view counts as stale.</summary>
public sealed record WatchOptions
{
    /// <summary>First wait after a failed list or watch; doubles up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Asked of the API server per watch request, so a silently dead connection is replaced.</summary>
    public int WatchTimeoutSeconds { get; init; } = 300;

    /// <summary>A watch request in flight this long without failing counts as open (the client shows a watch only at its first event).</summary>
    public TimeSpan WatchSettle { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Readiness fails once any watcher has been disconnected (or not yet synced) this long.</summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Objects held per resource kind, at most; more are shed and counted (flowwatch_shed_total{queue="kube_&lt;resource&gt;"}).</summary>
    public int MaxObjectsPerResource { get; init; } = 250_000;

    /// <summary>Objects per list page (<c>limit</c>, as client-go's reflector asks: 500); 0 lists unpaged, which holds a kind's whole list at once.</summary>
    public int ListPageSize { get; init; } = 500;

    /// <summary>Sync by watch-list streaming (<c>sendInitialEvents=true</c>) where the server serves it; paged list-then-watch where it refuses.</summary>
    public bool WatchList { get; init; } = true;

    /// <summary>A list whose continue token expires this many times in a row fails (and is retried after a backoff) instead of restarting at once.</summary>
    public int MaxListRestarts { get; init; } = 3;

    public WatchOptions Validate()
    {
        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff) throw new ArgumentException("watch: backoff must be positive and MaxBackoff >= InitialBackoff");
        if (WatchTimeoutSeconds < 1) throw new ArgumentException("watch: WatchTimeoutSeconds must be at least 1");
        if (StaleAfter <= TimeSpan.Zero) throw new ArgumentException("watch: StaleAfter must be positive");
        if (ListPageSize < 0) throw new ArgumentException("watch: ListPageSize must be 0 (unpaged) or more");
        if (MaxListRestarts < 0) throw new ArgumentException("watch: MaxListRestarts must be 0 or more");
        if (MaxObjectsPerResource < 1) throw new ArgumentException("watch: MaxObjectsPerResource must be at least 1");
        return this;
    }
}
