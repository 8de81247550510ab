using FlowWatch.Detectors.DuplicateIp;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using FlowWatch.Kubernetes.Events;
using FlowWatch.Kubernetes.Watching;
using FlowWatch.Remediation;
using k8s;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Hosting;

/// <summary>Where FlowWatch finds the API server and what remediation may do (<c>--kubeconfig</c>, <c>--context</c>, <c>--remediate*</c>).</summary>
public sealed record KubernetesSettings
{
    public string? Kubeconfig { get; init; }
    public string? Context { get; init; }
    public RemediationOptions Remediation { get; init; } = new();
    public WatchOptions Watch { get; init; } = new();
    public FindingEventOptions Events { get; init; } = new();
    public LeadershipOptions Leadership { get; init; } = new();
}

/// <summary>Cluster state for a running FlowWatch: the watchers feeding the pipeline, flow enrichment, Events for findings, remediation and readiness.</summary>
/// <remarks>Wired beside <see cref="FlowWatchRuntime"/> without changing it: cluster events go into its intake, readiness into its checks.</remarks>
public sealed class KubernetesIntegration : IDisposable
{
    private readonly List<IDisposable> _subscriptions = [];
    private readonly IKubernetes _client;

    private KubernetesIntegration(IKubernetes client, FlowWatchRuntime runtime, KubernetesSettings settings, ILoggerFactory loggers)
    {
        _client = client;
        var metrics = new KubeWatchMetrics(runtime.MetricFactory);
        View = new ClusterView(runtime.Intake.Write, settings.Watch, metrics);
        Watcher = new ClusterWatcher(client, View, settings.Watch, metrics, loggers.CreateLogger("flowwatch.kubernetes"));
        Enricher = new FlowEnricher(View);
        Events = new FindingEventPublisher(client, View, settings.Events, runtime.MetricFactory, loggers.CreateLogger("flowwatch.events"));
        _subscriptions.Add(Events.Follow(runtime.Pipeline.Findings));
        var detector = runtime.Detectors.OfType<DuplicateIpDetector>().FirstOrDefault();
        if (detector is not null && settings.Remediation.Mode != RemediationMode.Off)
        {
            Leadership = new RemediationLeadership(client, settings.Leadership, runtime.MetricFactory, loggers.CreateLogger("flowwatch.remediation"));
            Remediator = new UnmanagedPodRemediator(settings.Remediation, detector, View, NotTrusted,
                () => Watcher.CiliumEndpointsWatched, client, new RemediationMetrics(runtime.MetricFactory), loggers.CreateLogger("flowwatch.remediation"),
                paused: Leadership.PausedReason);
            _subscriptions.Add(Remediator.Follow(runtime.Pipeline.Findings));
        }
        runtime.Readiness.Add(NotTrusted);
        runtime.ReadinessNotes.Add(Leadership is { } leadership ? leadership.Describe : () => "leadership: not electing (remediation off)");
    }

    /// <summary>Why the view cannot be acted on: not listed yet, or a watch down too long; null when it can.</summary>
    public string? NotTrusted() => Watcher.Synced ? Watcher.StaleReason() : "kubernetes view not synced yet";

    public ClusterView View { get; }
    public ClusterWatcher Watcher { get; }
    public FlowEnricher Enricher { get; }
    public FindingEventPublisher Events { get; }
    public UnmanagedPodRemediator? Remediator { get; }

    /// <summary>The remediation Lease campaign; null with remediation off.</summary>
    public RemediationLeadership? Leadership { get; }

    /// <summary>Connects when a kubeconfig is given or FlowWatch runs in a pod; null otherwise (flows only).</summary>
    public static KubernetesIntegration? TryCreate(KubernetesSettings settings, FlowWatchRuntime runtime, ILoggerFactory loggers)
    {
        var config = KubeClientFactory.Configure(settings.Kubeconfig, settings.Context);
        if (config is null)
        {
            if (settings.Remediation.Mode != RemediationMode.Off)
                throw new InvalidOperationException("remediation needs the Kubernetes API: give --kubeconfig or run in the cluster");
            return null;
        }
        return new KubernetesIntegration(new k8s.Kubernetes(config), runtime, settings, loggers);
    }

    public FlowRecord Enrich(FlowRecord flow) => Enricher.Enrich(flow);

    public Task RunAsync(CancellationToken ct) => Task.WhenAll(RunClusterAsync(ct), RunRemediationAsync(ct));

    /// <summary>The watchers and the finding-event publisher, until cancelled.</summary>
    public Task RunClusterAsync(CancellationToken ct) => Task.WhenAll(Watcher.RunAsync(ct), Events.RunAsync(ct));

    /// <summary>The remediator and its Lease campaign, until cancelled; nothing with remediation off.</summary>
    public Task RunRemediationAsync(CancellationToken ct) =>
        Task.WhenAll(Remediator?.RunAsync(ct) ?? Task.CompletedTask, Leadership?.RunAsync(ct) ?? Task.CompletedTask);

    public void Dispose()
    {
        foreach (var s in _subscriptions) s.Dispose();
        _client.Dispose();
    }
}
