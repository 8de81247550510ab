using FlowWatch.Api;
using FlowWatch.Clusters;
using FlowWatch.Detectors;
using FlowWatch.Findings;
using FlowWatch.Pipeline;
using FlowWatch.Security;
using FlowWatch.Store;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace FlowWatch.Hosting;

/// <summary>Settings of a running FlowWatch that do not belong to one source or detector.</summary>
public sealed record RuntimeOptions
{
    /// <summary>Where /metrics, /healthz, /readyz and /api listen.</summary>
    public string Listen { get; init; } = "127.0.0.1:9090";

    /// <summary>The cluster this FlowWatch reports on: the <c>cluster</c> label of every metric and the cluster of every finding and answer.</summary>
    public string Cluster { get; init; } = ClusterName.Default;

    /// <summary>Flows that may wait for the pipeline before the oldest are shed.</summary>
    public int IntakeCapacity { get; init; } = 100_000;

    public DetectorSettings Detectors { get; init; } = DetectorSettings.Default;

    /// <summary>Allowed lateness (the reorder stage) and the other bounds of event time.</summary>
    public EventTimeOptions EventTime { get; init; } = EventTimeOptions.Default;

    /// <summary>Bounds of the recent-flow store behind /api/v1/flows.</summary>
    public FlowStoreOptions Store { get; init; } = FlowStoreOptions.Default;

    /// <summary>More sinks every processed flow is handed to, after the store (must not block for long: they hold up the pipeline).</summary>
    public IReadOnlyList<IFlowSink> ExtraSinks { get; init; } = [];

    /// <summary>TLS and bearer-token checks of the HTTP side; open plain HTTP when null.</summary>
    public HttpSecurity? Security { get; init; }

    /// <summary>Where the checkpoint (resume point, open findings) is read at start and written; none when null.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Admission control and scan budget of the query API.</summary>
    public Api.QueryAdmissionOptions Queries { get; init; } = Api.QueryAdmissionOptions.Default;

    /// <summary>When /readyz reports ingest as behind.</summary>
    public IngestHealthOptions Ingest { get; init; } = IngestHealthOptions.Default;

    /// <summary>Where non-fatal trouble (an unreadable checkpoint) is reported.</summary>
    public Action<string> Warn { get; init; } = _ => { };
}

/// <summary>One FlowWatch: metrics registry, detectors, pipeline, intake and HTTP endpoint, wired together.</summary>
/// <remarks>Sources (Hubble client, simulator) write into <see cref="Intake"/>; <see cref="RunAsync"/> pumps it.</remarks>
public sealed class FlowWatchRuntime : IAsyncDisposable
{
    private HttpEndpoint? _http;
    private bool _pumping;

    public FlowWatchRuntime(RuntimeOptions options, ILoggerFactory loggerFactory)
    {
        Options = options;
        LoggerFactory = loggerFactory;
        if (ClusterName.Problem(options.Cluster) is { } problem)
            throw new ArgumentException($"cluster name: {problem}", nameof(options));
        Registry = Prometheus.Metrics.NewCustomRegistry();
        // A static label, set before any metric exists, so that no metric can be created without it: several
        // FlowWatch instances (one per cluster) scraped by one Prometheus never sum across clusters by accident.
        Registry.SetStaticLabels(new Dictionary<string, string>(StringComparer.Ordinal) { ["cluster"] = options.Cluster });
        MetricFactory = Prometheus.Metrics.WithCustomRegistry(Registry);
        Detectors = DetectorSet.Create(options.Detectors);
        Store = new FlowStore(options.Store, MetricFactory);
        Sinks.Add(Store);
        Attribution = new ClusterAttribution(options.Cluster, metrics: MetricFactory);
        Sinks.Add(Attribution);
        Sinks.AddRange(options.ExtraSinks);
        IEnumerable<IDetector> running = Detectors;
        if (options.CheckpointPath is { } checkpointPath)
        {
            // The resume point trails the newest flow by the allowed lateness: a lagging node's flows may still be on their way.
            var tracker = new ResumeTracker(options.EventTime.AllowedLateness, () => Pipeline?.EventTimeNanos ?? long.MaxValue);
            Sinks.Add(tracker);
            Checkpoints = new CheckpointKeeper(checkpointPath, () => Pipeline!.Book.OpenFindings, tracker, options.Warn);
            if (Checkpoints.Loaded is { OpenFindings.Count: > 0 } loaded)
                running = running.Append(new RestoredFindings(loaded.OpenFindings,
                    kind => DetectorSet.QuietPeriod(options.Detectors, kind), id => Pipeline!.Book.AwaitingDetector(id)));
        }
        var pipelineMetrics = new Metrics.PipelineMetrics(MetricFactory);
        Ingest = new IngestHealth(options.Ingest, pipelineMetrics.EventTimeLag, MetricFactory, () => Intake?.Depth ?? 0);
        Sinks.Add(Ingest);
        Pipeline = new FlowPipeline(running, MetricFactory, Sinks, options.EventTime) { DetectorLog = loggerFactory.CreateLogger("FlowWatch.Detectors") };
        Pipeline.Book.Cluster = options.Cluster;
        Pipeline.Book.Attribute = Attribution.Of;
        // The free list may grow to what the reorder stage and the intake queue can hold at once: those records exist at their
        // peak anyway, and keeping them spares the GC a Relay's every lag swing.
        if (Pipeline.ReturnsRecords)
            Records = new Flows.FlowRecordPool(maxCapacity: options.EventTime.ReorderCapacity + options.IntakeCapacity);
        if (Checkpoints?.Loaded is { } restored) Pipeline.Book.Restore(restored.OpenFindings);
        Intake = new FlowIntake(Pipeline, options.IntakeCapacity);
        Admission = new QueryAdmission(options.Queries, MetricFactory);
        Routes.Add(app => QueryApi.Map(app, new QueryApiContext(Store, Pipeline.Book, Detectors, TimeProvider.System, Admission, options.Cluster)));
        Routes.Add(app => ApiIndex.Map(app, options.Cluster));
        Readiness.Add(() => Intake.Overloaded ? $"intake queue over half full ({Intake.Depth:N0} of {Intake.Capacity:N0}): shedding load" : null);
        Readiness.Add(() => Ingest.Reason);
    }

    public RuntimeOptions Options { get; }
    /// <summary>The cluster this runtime reports on (<see cref="RuntimeOptions.Cluster"/>).</summary>
    public string Cluster => Options.Cluster;
    /// <summary>Which cluster of a ClusterMesh each finding is about (from the flows' endpoints).</summary>
    public ClusterAttribution Attribution { get; }
    public ILoggerFactory LoggerFactory { get; }
    public CollectorRegistry Registry { get; }
    public IMetricFactory MetricFactory { get; }
    public IReadOnlyList<IDetector> Detectors { get; }
    /// <summary>The recent-flow store (also the first of <see cref="Sinks"/>) that the query API reads.</summary>
    public FlowStore Store { get; }
    public List<IFlowSink> Sinks { get; } = [];
    public FlowPipeline Pipeline { get; }

    /// <summary>Records for the sources' decoders to rent, which the pipeline returns after processing; null when some
    /// sink or detector keeps records (<see cref="FlowPipeline.ReturnsRecords"/>), so that every record is then a new one.</summary>
    public Flows.FlowRecordPool? Records { get; }
    public FlowIntake Intake { get; }
    /// <summary>Reads and writes the checkpoint; null unless <see cref="RuntimeOptions.CheckpointPath"/> is set.</summary>
    public CheckpointKeeper? Checkpoints { get; }
    public List<ReadinessCheck> Readiness { get; } = [];

    /// <summary>Lines /readyz adds after its verdict, which never make it fail (leadership).</summary>
    public List<ReadinessNote> ReadinessNotes { get; } = [];

    /// <summary>Whether ingest keeps up (event-time lag, Hubble's lost events); a readiness check and metrics. Sampled by <see cref="RunAsync"/>.</summary>
    public IngestHealth Ingest { get; }

    /// <summary>The gate every API query passes (bounded concurrent scans, queue with a deadline, answer memory).</summary>
    public QueryAdmission Admission { get; }

    /// <summary>Routes added to the HTTP endpoint beside /metrics and the probes (the query API).</summary>
    public List<Action<IEndpointRouteBuilder>> Routes { get; } = [];

    public Uri? HttpAddress => _http?.Address;

    public async Task StartHttpAsync(CancellationToken ct)
    {
        _http = await HttpEndpoint.StartAsync(Options.Listen, Registry, Readiness,
            app => { foreach (var map in Routes) map(app); }, LoggerFactory, ct, Options.Security, ReadinessNotes).ConfigureAwait(false);
    }

    /// <summary>Pumps the intake into the pipeline until cancelled or the intake completes.</summary>
    public async Task RunAsync(bool live, CancellationToken ct)
    {
        using var stopHealth = new CancellationTokenSource();
        var health = live ? Ingest.RunAsync(stopHealth.Token) : Task.CompletedTask;
        Volatile.Write(ref _pumping, true);
        try { await Intake.PumpAsync(live, ct).ConfigureAwait(false); }
        finally
        {
            Volatile.Write(ref _pumping, false);
            stopHealth.Cancel();
            await health.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_http is not null) await _http.DisposeAsync().ConfigureAwait(false);
        // A pump left busy at shutdown (a detector holding its thread) is still inside the pipeline: leave it be, the process is ending.
        if (!Volatile.Read(ref _pumping)) Pipeline.Dispose();
    }
}
