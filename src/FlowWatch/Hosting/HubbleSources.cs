using FlowWatch.Flows;
using FlowWatch.Hubble;

namespace FlowWatch.Hosting;

/// <summary>The Hubble sources of one FlowWatch (<c>--hubble NAME=TARGET</c>, repeatable): one client per source, each with
/// its own channel and TLS settings, connection state, resume window and checkpoint entry, all writing into one runtime.</summary>
/// <remarks>
/// Bounds stay per process: one intake queue, one store and one set of detector tables take every source's flows (the
/// intake sheds the oldest flows whichever source sent them, so under overload each source loses in proportion to its
/// rate), and the per-source memory that grows with a source, the resume window's remembered ids, is the process's
/// <see cref="HubbleClientOptions.ResumeMemory"/> divided evenly between the sources. Each source's flows carry its key as
/// <see cref="FlowRecord.Origin"/>, so the checkpoint resumes each from the newest flow the pipeline processed from it.
/// </remarks>
public sealed class HubbleSources
{
    /// <summary>Most sources in one process.</summary>
    public const int MaxSources = Pipeline.ResumeTracker.MaxSources;

    private readonly FlowWatchRuntime _runtime;

    /// <param name="enrich">Applied to each flow before it is queued (names IP-only endpoints from cluster state); none when null.</param>
    /// <param name="logs">Where each client logs its connection (category <c>flowwatch.hubble</c>); nowhere when null.</param>
    /// <exception cref="ArgumentException">No source, too many, two with one key, or a source's settings are invalid.</exception>
    public HubbleSources(IReadOnlyList<HubbleSourceSpec> specs, FlowWatchRuntime runtime, Func<FlowRecord, FlowRecord>? enrich = null,
        Microsoft.Extensions.Logging.ILoggerFactory? logs = null)
    {
        if (specs.Count == 0) throw new ArgumentException("at least one Hubble source is needed", nameof(specs));
        if (specs.Count > MaxSources) throw new ArgumentException($"{specs.Count} Hubble sources; at most {MaxSources}", nameof(specs));
        if (specs.GroupBy(s => s.Key).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"Hubble source '{twice.Key}' is given twice", nameof(specs));
        _runtime = runtime;
        var intake = runtime.Intake;
        Action<FlowRecord> sink = enrich is null ? f => intake.Write(f) : f => intake.Write(enrich(f));
        var logger = logs?.CreateLogger("flowwatch.hubble");
        // A reconnect goes back at least as far as the pipeline waits for a lagging node: such a node's flows may be on their way.
        var lateness = runtime.Options.EventTime.AllowedLateness;
        Sources = specs.Select(s => new HubbleStreamSource(s.Target, sink, runtime.Pipeline.Metrics,
            s.Options with
            {
                ResumeMemory = Math.Max(1, s.Options.ResumeMemory / specs.Count),
                ResumeOverlap = s.Options.ResumeOverlap > lateness ? s.Options.ResumeOverlap : lateness,
            }, s.Name, logger, runtime.Records)).ToList();
        // The Relay's node list tells the reorder stage which nodes to wait for, with or without Kubernetes.
        // Each under its own key, the Origin its flows carry: two clusters may both have a node of the same name.
        foreach (var source in Sources)
        {
            var origin = source.Key;
            source.NodesChanged = (connected, notConnected) => runtime.Pipeline.AnnounceNodes(origin, connected, notConnected);
        }
    }

    public IReadOnlyList<HubbleStreamSource> Sources { get; }

    /// <summary>What <see cref="Attach"/> returned, kept for the host to say once it is up.</summary>
    public IReadOnlyList<string> AttachLines { get; set; } = [];

    /// <summary>Events every source's Hubble reported lost, summed (saturating).</summary>
    public ulong LostEvents => Sources.Aggregate(0UL, (sum, s) => LostEventSourceNames.SaturatingAdd(sum, s.LostEvents));

    /// <summary>True while at least one source's stream is open.</summary>
    public bool AnyConnected => Sources.Any(s => s.Connection == HubbleConnectionState.Connected);

    /// <summary>One line for the terminal: a source's own line, or each source's prefixed by its key.</summary>
    public string Describe() => Sources.Count == 1 ? Sources[0].Describe() : string.Join("; ", Sources.Select(s => $"{s.Key}: {s.Describe()}"));

    /// <summary>Before <see cref="RunAsync"/>: resumes each source from the runtime's checkpoint, records their checkpoint keys,
    /// and adds a readiness check per source and the ingest-health hooks. Returns the lines worth telling a person.</summary>
    /// <remarks>A named source with no entry of its own resumes from its target's (the key a plain <c>--hubble TARGET</c> wrote).</remarks>
    public IReadOnlyList<string> Attach()
    {
        var lines = new List<string>();
        _runtime.Ingest.Follow(() => LostEvents, () => AnyConnected);
        foreach (var source in Sources)
        {
            var s = source;
            _runtime.Readiness.Add(() => s.Connection == HubbleConnectionState.Connected ? null : $"hubble {s.Key}: {s.State}");
        }
        if (_runtime.Checkpoints is not { } checkpoints) return lines;
        checkpoints.Sources = Sources.Select(s => s.Key).ToList();
        checkpoints.Tracker.IdCapacity = Sources[0].Options.ResumeMemory;
        foreach (var source in Sources)
        {
            var formerly = source.Name is null ? null : source.Target;
            if (formerly is not null) checkpoints.Alias(source.Key, formerly);
            if (checkpoints.ResumePoint(source.Key, formerly) is not { } resume) continue;
            source.StartFrom(resume);
            lines.Add(resume.SinceNanos < resume.NewestNanos
                ? $"resuming {source.Key} from {Time(resume.SinceNanos):O} (the newest flow processed, {Time(resume.NewestNanos):O}, less the allowed lateness; " +
                  $"{resume.Seen.Count:N0} flows since then already processed) from {checkpoints.Path}"
                : $"resuming {source.Key} after {Time(resume.NewestNanos):O} from {checkpoints.Path}");
        }
        if (checkpoints.Loaded is { OpenFindings.Count: > 0 } loaded)
            lines.Add($"{loaded.OpenFindings.Count} findings still open from {checkpoints.Path}");
        return lines;
    }

    private static DateTimeOffset Time(long nanos) => DateTimeOffset.UnixEpoch.AddTicks(nanos / 100);

    /// <summary>Follows every source until cancelled.</summary>
    public Task RunAsync(CancellationToken ct) => Task.WhenAll(Sources.Select(s => s.RunAsync(ct)));
}
