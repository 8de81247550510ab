using FlowWatch.Hubble;
using Microsoft.Extensions.Hosting;

namespace FlowWatch.Hosting.Services;

/// <summary>Follows one Hubble source (Relay or agent) until the host stops, writing its flows into the runtime's intake.</summary>
public sealed class HubbleIntakeService(HubbleStreamSource source) : BackgroundService
{
    public HubbleStreamSource Source { get; } = source;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Source.RunAsync(stoppingToken);
}
