using FlowWatch.Findings;

namespace FlowWatch.Pipeline;

/// <summary>Writes a runtime's <see cref="Checkpoint"/> every few seconds and on shutdown, and reads it back at start.</summary>
/// <remarks>One flow source per runtime (watch and demo follow one Hubble target): the resume point is the newest flow
/// the pipeline processed, recorded under that source's name.</remarks>
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

    /// <summary>The checkpoint found at start (null when there was none or it was unreadable).</summary>
    public Checkpoint? Loaded { get; }

    /// <summary>Checkpoints written so far.</summary>
    public long Saves => Interlocked.Read(ref _saves);

    /// <summary>The flow source the resume point is recorded under; set once the source is known.</summary>
    public string? Source { get; set; }

    /// <summary>Where <paramref name="source"/> stopped last time, or null to follow from now.</summary>
    public (long NewestNanos, IReadOnlyList<string> Ids)? ResumePoint(string source) =>
        Loaded?.Sources.TryGetValue(source, out var nanos) == true && nanos > 0
            ? (nanos, Loaded.NewestIds?.GetValueOrDefault(source) ?? [])
            : null;

    /// <summary>Writes the checkpoint now (atomically). Safe to call from any thread.</summary>
    public void Save()
    {
        lock (_saving)
        {
            var (newest, ids) = _tracker.Snapshot();
            var sources = new Dictionary<string, long>(StringComparer.Ordinal);
            var newestIds = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            if (Source is { } source)
            {
                // Nothing processed yet this run: keep the old resume point rather than forget it.
                var previous = ResumePoint(source);
                if (newest == 0 && previous is { } p) (newest, ids) = p;
                if (newest > 0) { sources[source] = newest; newestIds[source] = ids; }
            }
            new Checkpoint(DateTimeOffset.UtcNow, sources, _openFindings(), newestIds).Save(Path);
            Interlocked.Increment(ref _saves);
        }
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
