using FlowWatch.Hubble;
using Microsoft.Extensions.Hosting;

namespace FlowWatch.Hosting.Services;

/// <summary>Follows one Hubble source (Relay or agent) until the host stops, writing its flows into the runtime's intake.</summary>
/// <remarks>Stopped first, and its cancellation (50–300 ms on a loaded machine) overlaps the pipeline's drain, which starts at
/// the same moment (<see cref="PipelinePumpService"/>); its last log line then comes before the watcher's last lines.</remarks>
public sealed class HubbleIntakeService(HubbleStreamSource source) : BackgroundService
{
    public HubbleStreamSource Source { get; } = source;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Source.RunAsync(stoppingToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        StopTrace.Mark("hubble intake: stopping");
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        StopTrace.Mark("hubble intake: stopped");
    }
}
