using FlowWatch.Findings;

namespace FlowWatch.Pipeline;

/// <summary>Writes a runtime's <see cref="Checkpoint"/> every few seconds and on shutdown, and reads it back at start.</summary>
/// <remarks>One resume point per flow source (a <c>--hubble</c> source's name, or its target when unnamed): the newest flow
/// the pipeline processed from that source (<see cref="ResumeTracker"/>, by <see cref="Flows.FlowRecord.Origin"/>). With one
/// source the newest flow processed at all is its resume point, as before several sources existed, so a checkpoint
/// written by either version resumes the other.</remarks>
public sealed class CheckpointKeeper
{
    private readonly Func<IReadOnlyList<Finding>> _openFindings;
    private readonly ResumeTracker _tracker;
    private readonly Lock _saving = new();
    private long _saves;

    public CheckpointKeeper(string path, Func<IReadOnlyList<Finding>> openFindings, ResumeTracker tracker, Action<string>? warn = null)
    {
        Path = path;
        _openFindings = openFindings;
        _tracker = tracker;
        Checkpoint.RemoveStaleTempFiles(path);
        Loaded = Checkpoint.Load(path, warn);
    }

    public string Path { get; }

    /// <summary>What the pipeline processed, per source: the resume points this keeper writes.</summary>
    public ResumeTracker Tracker => _tracker;

    /// <summary>The checkpoint found at start (null when there was none or it was unreadable).</summary>
    public Checkpoint? Loaded { get; }

    /// <summary>Checkpoints written so far.</summary>
    public long Saves => Interlocked.Read(ref _saves);

    /// <summary>The one flow source the resume point is recorded under (null when none or several); setting it sets <see cref="Sources"/>.</summary>
    public string? Source
    {
        get => Sources.Count == 1 ? Sources[0] : null;
        set => Sources = value is null ? [] : [value];
    }

    /// <summary>The flow sources (their checkpoint keys) whose resume points are recorded; set once the sources are known.</summary>
    public IReadOnlyList<string> Sources { get; set; } = [];

    /// <summary>Where <paramref name="source"/> stopped last time, or null to follow from now.</summary>
    /// <param name="formerly">Another key the same source may have been recorded under (its target, before it was given a name).</param>
    /// <remarks>A checkpoint without a resume span (written by an older FlowWatch) resumes at its newest flow, as it did then.</remarks>
    public ResumePoint? ResumePoint(string source, string? formerly = null)
    {
        if (Loaded is null) return null;
        foreach (var key in formerly is null || formerly == source ? [source] : new[] { source, formerly })
            if (Loaded.Sources.TryGetValue(key, out var nanos) && nanos > 0)
            {
                var ids = Loaded.NewestIds?.GetValueOrDefault(key) ?? [];
                return Loaded.Resume?.GetValueOrDefault(key) is { } span
                    ? new ResumePoint(nanos, ids, span.SinceNanos, FlowIdHash.Unpack(span.SeenIds) ?? [])
                    : new ResumePoint(nanos, ids, nanos, []);
            }
        return null;
    }

    private readonly Dictionary<string, string> _formerly = new(StringComparer.Ordinal);

    /// <summary>Records that <paramref name="source"/> was keyed <paramref name="formerly"/> in older checkpoints, so an unprocessed source keeps that point.</summary>
    public void Alias(string source, string formerly) { lock (_saving) _formerly[source] = formerly; }

    /// <summary>Writes the checkpoint now (atomically). Safe to call from any thread.</summary>
    public void Save()
    {
        lock (_saving)
        {
            Current().Save(Path);
            Interlocked.Increment(ref _saves);
        }
    }

    /// <summary>Goes through a save once without writing anything, so the write at shutdown (the graceful one, or the
    /// backstop's at the deadline) runs code that is already compiled, with the serializer's metadata built.</summary>
    public void Prepare()
    {
        Checkpoint.Prepare();
        lock (_saving) Current().Serialize(Stream.Null);
    }

    // Called under _saving.
    private Checkpoint Current()
    {
        var sources = new Dictionary<string, long>(StringComparer.Ordinal);
        var newestIds = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var resume = new Dictionary<string, ResumeSpan>(StringComparer.Ordinal);
        var keys = Sources;
        foreach (var source in keys)
        {
            var point = keys.Count == 1 ? _tracker.Snapshot() : _tracker.Snapshot(source);
            // Nothing processed yet this run: keep the old resume point rather than forget it.
            if (point.NewestNanos == 0 && ResumePoint(source, _formerly.GetValueOrDefault(source)) is { } previous) point = previous;
            if (point.NewestNanos <= 0) continue;
            sources[source] = point.NewestNanos;
            newestIds[source] = point.Ids;
            resume[source] = new ResumeSpan(point.SinceNanos, FlowIdHash.Pack(point.Seen));
        }
        return new Checkpoint(DateTimeOffset.UtcNow, sources, _openFindings(), newestIds, resume);
    }

    /// <summary>Saves every <paramref name="every"/> until cancelled; a failed write is reported and retried next time.</summary>
    public async Task RunAsync(TimeSpan every, Action<string> warn, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                try { Save(); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    warn($"cannot write checkpoint {Path}: {e.Message}");
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }
}
