using Microsoft.Extensions.Hosting;

namespace FlowWatch.Hosting.Services;

/// <summary>Pumps the runtime's intake into the pipeline; from the moment the host starts stopping it drains what is queued
/// for at most the drain timeout, and a pipeline still busy after that is left behind rather than waited for.</summary>
/// <remarks>
/// The pump is not cancelled with the host: stopping must not throw away flows already queued, which the checkpoint written
/// after it would otherwise claim were processed. The drain clock starts at <see cref="IHostApplicationLifetime.ApplicationStopping"/>,
/// not when this service's turn to stop comes: the services stopped before it (the Hubble streams, whose cancellation alone
/// measured 50–300 ms on a loaded machine) then overlap the drain instead of adding to it. A detector can hold the pipeline
/// thread for as long as it likes (one flow can release many from the reorder stage, each costing the detector again), and
/// nothing can take the thread back from it; so after the drain timeout plus <see cref="PipelineHostOptions.BusyGrace"/> the
/// service returns anyway, the checkpoint after it records what was processed, and the busy flows are read again on resume.
/// </remarks>
public sealed class PipelinePumpService(FlowWatchRuntime runtime, PipelineHostOptions options, IHostApplicationLifetime lifetime) : BackgroundService
{
    private readonly CancellationTokenSource _drain = new();
    private int _stopping;
    private long _stopBegan;

    /// <summary>True when stop returned with the pipeline still busy (the pump was left behind).</summary>
    public bool LeftBusy { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var stopping = lifetime.ApplicationStopping.Register(BeginStop);
        using var stopped = stoppingToken.Register(BeginStop);
        await runtime.RunAsync(options.Live, _drain.Token).ConfigureAwait(false);
    }

    // No more flows are taken in; what is queued is processed until the drain timeout, counted from now.
    private void BeginStop()
    {
        if (Interlocked.Exchange(ref _stopping, 1) == 1) return;
        _stopBegan = System.Diagnostics.Stopwatch.GetTimestamp();
        runtime.Intake.Complete();
        _drain.CancelAfter(options.DrainTimeout);
        StopTrace.Mark("pump: drain began");
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        BeginStop();
        var stop = base.StopAsync(cancellationToken);
        // The pump checks the drain token between flows; one flow that takes longer than the grace is not waited for.
        var left = options.DrainTimeout + options.BusyGrace - System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref _stopBegan));
        var busy = Task.Delay(left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken);
        if (await Task.WhenAny(stop, busy).ConfigureAwait(false) == stop)
        {
            await stop.ConfigureAwait(false);
            StopTrace.Mark("pump: drained");
            return;
        }
        // Said in the host's last line (a log line now could be printed after it: the console logger writes from its own thread).
        LeftBusy = true;
        StopTrace.Mark("pump: left busy");
    }

    public override void Dispose()
    {
        base.Dispose();
        if (!LeftBusy) _drain.Dispose();
    }
}

/// <summary>How the pipeline runs inside a host.</summary>
public sealed record PipelineHostOptions
{
    /// <summary>Following a live source (a wall-clock heartbeat advances event time while idle, ingest health is sampled).</summary>
    public bool Live { get; init; } = true;

    /// <summary>From the moment the host starts stopping, how long the pipeline may go on processing flows already queued
    /// before it gives up on them (they are re-read on resume).</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>After the drain timeout, how long stop waits for the flow in hand before it leaves the pipeline busy.</summary>
    public TimeSpan BusyGrace { get; init; } = TimeSpan.FromMilliseconds(50);
}
