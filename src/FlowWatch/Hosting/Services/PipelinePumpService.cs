using Microsoft.Extensions.Hosting;

namespace FlowWatch.Hosting.Services;

/// <summary>Pumps the runtime's intake into the pipeline; on stop it completes the intake and lets the queue drain for at most the drain timeout.</summary>
/// <remarks>The pump is not cancelled with the host: stopping must not throw away flows already queued, which the
/// checkpoint written after it would otherwise claim were processed.</remarks>
public sealed class PipelinePumpService(FlowWatchRuntime runtime, PipelineHostOptions options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var drain = new CancellationTokenSource();
        using var stopping = stoppingToken.Register(() =>
        {
            runtime.Intake.Complete();
            drain.CancelAfter(options.DrainTimeout);
        });
        await runtime.RunAsync(options.Live, drain.Token).ConfigureAwait(false);
    }
}

/// <summary>How the pipeline runs inside a host.</summary>
public sealed record PipelineHostOptions
{
    /// <summary>Following a live source (a wall-clock heartbeat advances event time while idle, ingest health is sampled).</summary>
    public bool Live { get; init; } = true;

    /// <summary>How long shutdown may spend processing flows already queued before it gives up on them (they are re-read on resume).</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
