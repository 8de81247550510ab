using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Hosting;

/// <summary>A host lifetime that leaves SIGINT/SIGTERM to the process's owner, who stops the host through its token.</summary>
/// <remarks>The default ConsoleLifetime marks every signal handled, the second too, so a second Ctrl+C would no longer end
/// the process at once; and a host nested in another (the HTTP endpoint) must not react to signals on its own.</remarks>
public sealed partial class SignalFreeLifetime(ILoggerFactory? logs = null) : IHostLifetime
{
    private readonly ILogger? logger = logs?.CreateLogger("flowwatch.host");

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        if (logger is not null) Started(logger);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (logger is not null) Stopping(logger);
        return Task.CompletedTask;
    }

    [LoggerMessage(1, LogLevel.Debug, "host starting its services")]
    private static partial void Started(ILogger logger);

    [LoggerMessage(2, LogLevel.Debug, "host stopped: intake first, then the pipeline drained, the checkpoint was written; the HTTP endpoint closes now")]
    private static partial void Stopping(ILogger logger);
}
