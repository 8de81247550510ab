using FlowWatch.Hosting.Services;
using FlowWatch.Hubble;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Hosting;

/// <summary>One <c>services.Add…()</c> per FlowWatch feature: each registers its parts and the hosted service that runs them.</summary>
/// <remarks>
/// A host starts hosted services in the order they were added and stops them in reverse, so shutdown order is the
/// order of these calls read backwards. Add them as <see cref="AddFlowWatchHttp"/>, <see cref="AddFlowWatchCheckpoint"/>,
/// <see cref="AddFlowWatchPipeline"/>, <see cref="AddFlowWatchKubernetes"/>, <see cref="AddFlowWatchRemediation"/>,
/// <see cref="AddHubbleIntake"/>: at stop the Hubble streams end first, then remediation and the watchers, then the
/// pipeline drains what is queued, then the checkpoint is written; the HTTP endpoint closes when the runtime is disposed.
/// </remarks>
public static class FlowWatchServiceCollectionExtensions
{
    /// <summary>The runtime (metrics registry, detectors, store, intake, pipeline) and the pump that drives it.</summary>
    public static IServiceCollection AddFlowWatchPipeline(this IServiceCollection services, Func<IServiceProvider, RuntimeOptions> options,
        PipelineHostOptions? pipeline = null)
    {
        services.AddSingleton(sp => new FlowWatchRuntime(options(sp), sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(pipeline ?? new PipelineHostOptions());
        services.AddSingleton<PipelinePumpService>();
        services.AddHostedService(sp => sp.GetRequiredService<PipelinePumpService>());
        return services;
    }

    /// <summary>/metrics, /healthz, /readyz and the query API on the runtime's listen address.</summary>
    public static IServiceCollection AddFlowWatchHttp(this IServiceCollection services)
    {
        services.AddHostedService<HttpEndpointService>();
        return services;
    }

    /// <summary>The checkpoint (when the runtime has a path): written every <paramref name="every"/> and at stop.</summary>
    public static IServiceCollection AddFlowWatchCheckpoint(this IServiceCollection services, TimeSpan every)
    {
        services.AddSingleton(new CheckpointServiceOptions(every));
        services.AddSingleton<CheckpointService>();
        services.AddHostedService(sp => sp.GetRequiredService<CheckpointService>());
        return services;
    }

    /// <summary>Cluster state from the Kubernetes API (watchers, flow enrichment, finding Events); flows only without an API server.</summary>
    /// <remarks>The connection is made when first resolved; a bad kubeconfig throws then (a host resolves it at start).</remarks>
    public static IServiceCollection AddFlowWatchKubernetes(this IServiceCollection services, KubernetesSettings settings)
    {
        services.AddSingleton(sp => new ClusterConnection(
            KubernetesIntegration.TryCreate(settings, sp.GetRequiredService<FlowWatchRuntime>(), sp.GetRequiredService<ILoggerFactory>())));
        services.AddHostedService<ClusterStateService>();
        return services;
    }

    /// <summary>Remediation of unmanaged pods with its Lease leadership, as <see cref="KubernetesSettings.Remediation"/> says (after <see cref="AddFlowWatchKubernetes"/>).</summary>
    public static IServiceCollection AddFlowWatchRemediation(this IServiceCollection services)
    {
        services.AddHostedService<RemediationService>();
        return services;
    }

    /// <summary>The Hubble Relays or agents to follow (<c>--hubble [NAME=]TARGET</c>, repeatable), each resumed from its
    /// checkpoint entry; /readyz waits for every source's stream.</summary>
    /// <remarks>Flows are enriched from cluster state when <see cref="AddFlowWatchKubernetes"/> was added. The sources are
    /// <see cref="HubbleSources"/>; each client is also listed by <c>GetServices&lt;HubbleStreamSource&gt;()</c>. The lines
    /// worth telling a person at start (resume points, findings still open) are in <see cref="HubbleSources.AttachLines"/>.</remarks>
    public static IServiceCollection AddHubbleIntake(this IServiceCollection services, IReadOnlyList<HubbleSourceSpec> specs)
    {
        services.AddSingleton(sp =>
        {
            var runtime = sp.GetRequiredService<FlowWatchRuntime>();
            var cluster = sp.GetService<ClusterConnection>()?.Integration;
            var sources = new HubbleSources(specs, runtime, cluster is null ? null : cluster.Enrich, sp.GetRequiredService<ILoggerFactory>());
            sources.AttachLines = sources.Attach();
            return sources;
        });
        for (var i = 0; i < specs.Count; i++)
        {
            var index = i;
            services.AddSingleton(sp => sp.GetRequiredService<HubbleSources>().Sources[index]);
            services.AddSingleton<IHostedService>(sp => new HubbleIntakeService(sp.GetRequiredService<HubbleSources>().Sources[index]));
        }
        return services;
    }

    /// <summary>One source, <c>--hubble TARGET</c>.</summary>
    public static IServiceCollection AddHubbleIntake(this IServiceCollection services, string target, HubbleClientOptions? options = null) =>
        services.AddHubbleIntake([new HubbleSourceSpec(null, target, options ?? new HubbleClientOptions())]);
}
