using FlowWatch.Cli.Commands;
using FlowWatch.Hosting;
using FlowWatch.Hosting.Services;
using Microsoft.Extensions.Hosting;

namespace FlowWatch.Cli.Composition;

/// <summary>What the watcher says once the HTTP side is up (and hands the demo's cluster view to the intake), and the line it ends with.</summary>
/// <remarks>Added right after the HTTP endpoint: it starts before any flow is pumped and stops after the checkpoint is written.</remarks>
public sealed class WatcherLifecycleService(FlowWatchRuntime runtime, WatcherConsole console, WatcherSettings settings, WatcherPlan plan,
    CheckpointService checkpoint, PipelinePumpService pump, HubbleSources sources, ClusterConnection? cluster = null) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (plan.ClusterView is null && settings.Kubernetes is { } kube)
            console.Say(cluster?.Integration is null
                ? "flowwatch: no --kubeconfig and not in a cluster: flows only, no cluster state"
                : $"flowwatch: cluster state from the Kubernetes API; remediation {kube.Remediation.Mode}");
        foreach (var line in sources.AttachLines) console.Say("flowwatch: " + line);
        var api = settings.Security is { Options.RequiresToken: true } s
            ? $"; /api needs a bearer token{(s.Options.ProtectMetrics ? " (and /metrics)" : "")}" : "";
        if (settings.ClusterOrigin.Length != 0) console.Say($"flowwatch: cluster name '{runtime.Cluster}' from {settings.ClusterOrigin}; --cluster NAME sets it");
        console.Say($"flowwatch: watching {plan.Describe} as cluster {runtime.Cluster}; metrics on {runtime.HttpAddress}metrics, probes /healthz /readyz{api}");
        if (plan.ClusterView is { } view) foreach (var change in view) runtime.Intake.Write(change);
        settings.Started?.Invoke(runtime);
        // The backstop when the graceful stop cannot finish in time (a detector busy with one flow): the checkpoint is still
        // written, and what the pipeline had not processed is read again on resume.
        _atDeadline = ShutdownSignal.AtDeadline(() =>
        {
            var written = "";
            if (runtime.Checkpoints is { } checkpoints)
            {
                try { checkpoints.Save(); written = $"; checkpoint written to {checkpoints.Path}"; }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { console.Warn($"cannot write checkpoint {checkpoints.Path}: {e.Message}"); }
            }
            console.Say($"flowwatch: stopped at the {ShutdownSignal.Deadline.TotalSeconds:0.#} s shutdown deadline before the graceful stop had finished, " +
                        $"after {runtime.Pipeline.Stats.Flows:N0} flows{written}");
        });
        return Task.CompletedTask;
    }

    private IDisposable? _atDeadline;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _atDeadline?.Dispose();
        var saved = checkpoint.SavedAtStop ? $"; checkpoint written to {runtime.Checkpoints!.Path}" : "";
        var busy = pump.LeftBusy ? " (the pipeline was still busy with a slow detector or a burst of timers: what it had not finished is read again on resume)" : "";
        StopTrace.Mark("lifecycle: last line");
        console.Say($"flowwatch: stopped after {runtime.Pipeline.Stats.Flows:N0} flows{busy}; {runtime.Pipeline.Book.OpenFindings.Count} findings open{saved}");
        return Task.CompletedTask;
    }
}

/// <summary>What one watcher run follows: the Hubble sources, and the demo's simulated cluster view (null for watch, which asks Kubernetes).</summary>
public sealed record WatcherPlan(IReadOnlyList<Hubble.HubbleSourceSpec> Sources, IReadOnlyList<Kubernetes.ClusterEvent>? ClusterView)
{
    /// <summary>The sources as the command line gave them: "NAME=TARGET" or "TARGET", comma-separated.</summary>
    public string Describe => string.Join(", ", Sources.Select(s => s.Name is null ? s.Target : $"{s.Name}={s.Target}"));
}
