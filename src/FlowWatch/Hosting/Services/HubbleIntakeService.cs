using FlowWatch.Hubble;
using Microsoft.Extensions.Hosting;

namespace FlowWatch.Hosting.Services;

/// <summary>Follows one Hubble source (Relay or agent) until the host stops, writing its flows into the runtime's intake.</summary>
public sealed class HubbleIntakeService(HubbleStreamSource source) : BackgroundService
{
    /// <summary>At stop, how long the host waits for the stream to end cleanly (its call cancelled, its channel closed).</summary>
    /// <remarks>Only briefly: the intake was completed when the stop began (<see cref="PipelinePumpService"/>), so nothing
    /// the stream still receives reaches the pipeline or the checkpoint; on a loaded machine its cancellation alone measured
    /// 50–300 ms, which the stop must not wait for in full.</remarks>
    public static readonly TimeSpan StopWait = TimeSpan.FromMilliseconds(200);

    public HubbleStreamSource Source { get; } = source;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Source.RunAsync(stoppingToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        var stop = base.StopAsync(cancellationToken);
        await Task.WhenAny(stop, Task.Delay(StopWait, cancellationToken)).ConfigureAwait(false);
    }
}
