using FlowWatch.Cli.Terminal;
using Microsoft.Extensions.Hosting;

namespace FlowWatch.Cli.Composition;

/// <summary>Redraws the live view (or prints progress lines) until stop, then writes the last status once the pipeline drained.</summary>
public sealed class StatusDisplayService(IStatusDisplay display, TimeSpan every) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => display.RunAsync(every, stoppingToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        display.WriteFinal();
        FlowWatch.Hosting.StopTrace.Mark("status: final line written");
    }

    public override void Dispose()
    {
        display.Dispose();
        base.Dispose();
    }
}
