using FlowWatch.Cli.Commands;
using FlowWatch.Hosting;
using FlowWatch.Hosting.Services;
using Microsoft.Extensions.Hosting;

namespace FlowWatch.Cli.Composition;

/// <summary>What the watcher says once the HTTP side is up (and hands the demo's cluster view to the intake), and the line it ends with.</summary>
/// <remarks>Added right after the HTTP endpoint: it starts before any flow is pumped and stops after the checkpoint is written.</remarks>
public sealed class WatcherLifecycleService(FlowWatchRuntime runtime, WatcherConsole console, WatcherSettings settings, WatcherPlan plan,
    CheckpointService checkpoint, ClusterConnection? cluster = null) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (plan.ClusterView is null && settings.Kubernetes is { } kube)
            console.Say(cluster?.Integration is null
                ? "flowwatch: no --kubeconfig and not in a cluster: flows only, no cluster state"
                : $"flowwatch: cluster state from the Kubernetes API; remediation {kube.Remediation.Mode}");
        if (runtime.Checkpoints is { } checkpoints)
        {
            if (checkpoints.ResumePoint(plan.Target) is { } resume)
                console.Say($"flowwatch: resuming {plan.Target} after {DateTimeOffset.UnixEpoch.AddTicks(resume.NewestNanos / 100):O} from {checkpoints.Path}");
            if (checkpoints.Loaded is { OpenFindings.Count: > 0 } loaded)
                console.Say($"flowwatch: {loaded.OpenFindings.Count} findings still open from {checkpoints.Path}");
        }
        var api = settings.Security is { Options.RequiresToken: true } s
            ? $"; /api needs a bearer token{(s.Options.ProtectMetrics ? " (and /metrics)" : "")}" : "";
        console.Say($"flowwatch: watching {plan.Target}; metrics on {runtime.HttpAddress}metrics, probes /healthz /readyz{api}");
        if (plan.ClusterView is { } view) foreach (var change in view) runtime.Intake.Write(change);
        settings.Started?.Invoke(runtime);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        var saved = checkpoint.SavedAtStop ? $"; checkpoint written to {runtime.Checkpoints!.Path}" : "";
        console.Say($"flowwatch: stopped after {runtime.Pipeline.Stats.Flows:N0} flows; {runtime.Pipeline.Book.OpenFindings.Count} findings open{saved}");
        return Task.CompletedTask;
    }
}

/// <summary>What one watcher run follows: the Hubble target, and the demo's simulated cluster view (null for watch, which asks Kubernetes).</summary>
public sealed record WatcherPlan(string Target, IReadOnlyList<Kubernetes.ClusterEvent>? ClusterView);
