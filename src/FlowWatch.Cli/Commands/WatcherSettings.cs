using FlowWatch.Cli.CommandLine;
using FlowWatch.Hosting;
using FlowWatch.Pipeline;
using FlowWatch.Security;

namespace FlowWatch.Cli.Commands;

/// <summary>Settings of the watcher shared by watch and demo that are not about the Hubble client.</summary>
public sealed record WatcherSettings
{
    public HttpSecurity? Security { get; init; }
    public string? CheckpointPath { get; init; }
    public TimeSpan CheckpointEvery { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>From the signal, how long shutdown may spend processing flows already queued before it gives up on them (they are re-read on resume).</summary>
    /// <remarks>Short: the whole shutdown must fit in <see cref="ShutdownSignal.Deadline"/> (a flow in hand may take
    /// <see cref="Hosting.Services.PipelineHostOptions.BusyGrace"/> more; then the checkpoint, the last lines and the HTTP close follow).</remarks>
    /// At full speed (over 500k flows/s) the pipeline empties a full intake queue (100,000 flows) in about that time.
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Sinks added after the store (tests slow the pipeline with one).</summary>
    public IReadOnlyList<IFlowSink> ExtraSinks { get; init; } = [];
    /// <summary>Called once the runtime serves HTTP, before any flow is processed (tests observe the runtime through it).</summary>
    public Action<Hosting.FlowWatchRuntime>? Started { get; init; }

    /// <summary>Where warnings (an ignored checkpoint, a failed write) go besides stderr (tests collect them).</summary>
    public Action<string>? Warn { get; init; }

    /// <summary>Cluster state from the Kubernetes API (watch only; the demo's cluster view comes from the simulator).</summary>
    public KubernetesSettings? Kubernetes { get; init; }
    public Hosting.DetectorSettings Detectors { get; init; } = Hosting.DetectorSettings.Default;

    /// <summary>--allowed-lateness and the rest of event time's settings.</summary>
    public EventTimeOptions EventTime { get; init; } = EventTimeOptions.Default;
    /// <summary>--cluster: the cluster every metric, finding and answer names.</summary>
    public string Cluster { get; init; } = FlowWatch.Findings.ClusterName.Default;
    /// <summary>Where <see cref="Cluster"/> came from when --cluster was not given (Hubble's flows, or why not); "" when given.</summary>
    public string ClusterOrigin { get; init; } = "";

    /// <summary>Show the live view (a terminal) instead of progress lines.</summary>
    public bool LiveView { get; init; }

    /// <summary>--log-level and --log-format.</summary>
    public FlowWatch.Cli.Logging.CliLogging Logging { get; init; } = new(Microsoft.Extensions.Logging.LogLevel.Information, Json: false);

    /// <summary>First line of the live view's header.</summary>
    public string Title { get; init; } = "FlowWatch";

    /// <summary>The --api-* , --listen-tls-*, --checkpoint* and detector flags, checked now.</summary>
    public static WatcherSettings From(ParsedArgs args)
    {
        var (path, every) = RuntimeFlags.Checkpoint(args);
        return new WatcherSettings
        {
            Security = RuntimeFlags.Security(args), CheckpointPath = path, CheckpointEvery = every, Detectors = DetectorFlags.Build(args),
            Logging = FlowWatch.Cli.Logging.CliLogging.From(args), Cluster = ClusterFlag.Get(args), EventTime = EventTimeFlags.From(args),
            ExtraSinks = TestHooks.Sinks(),
        };
    }
}
