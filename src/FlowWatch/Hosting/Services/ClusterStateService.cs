using Microsoft.Extensions.Hosting;

namespace FlowWatch.Hosting.Services;

/// <summary>Runs the Kubernetes watchers and the finding-event publisher until the host stops (nothing without an API server).</summary>
public sealed class ClusterStateService(ClusterConnection cluster) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        cluster.Integration?.RunClusterAsync(stoppingToken) ?? Task.CompletedTask;
}

/// <summary>Runs the remediator and its Lease campaign until the host stops (nothing with remediation off or no API server).</summary>
public sealed class RemediationService(ClusterConnection cluster) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        cluster.Integration?.RunRemediationAsync(stoppingToken) ?? Task.CompletedTask;
}

/// <summary>The Kubernetes side of a host: the integration, or null when there is no API server to talk to (flows only).</summary>
public sealed class ClusterConnection(KubernetesIntegration? integration) : IDisposable
{
    public KubernetesIntegration? Integration { get; } = integration;

    public void Dispose() => Integration?.Dispose();
}
