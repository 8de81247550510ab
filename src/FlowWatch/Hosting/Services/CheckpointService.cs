using Microsoft.Extensions.Hosting;

namespace FlowWatch.Hosting.Services;

/// <summary>Writes the checkpoint periodically and once more at stop, after the pipeline drained (added before the pipeline, so it stops after it).</summary>
public sealed class CheckpointService(FlowWatchRuntime runtime, CheckpointServiceOptions options) : BackgroundService
{
    /// <summary>Whether the write at stop succeeded (false before stop, or without a checkpoint).</summary>
    public bool SavedAtStop { get; private set; }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (runtime.Checkpoints is not { } checkpoints) return Task.CompletedTask;
        // Paid now rather than at stop (a first write costs a third of the stop's CPU): ExecuteAsync runs on its own task.
        checkpoints.Prepare();
        return checkpoints.RunAsync(options.Every, runtime.Options.Warn, stoppingToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (runtime.Checkpoints is not { } checkpoints) return;
        try
        {
            StopTrace.Mark("checkpoint: saving");
            checkpoints.Save();
            SavedAtStop = true;
            StopTrace.Mark("checkpoint: saved");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            runtime.Options.Warn($"cannot write checkpoint {checkpoints.Path}: {e.Message}");
        }
    }
}

/// <summary>How often the checkpoint is written.</summary>
public sealed record CheckpointServiceOptions(TimeSpan Every);
