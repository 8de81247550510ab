using FlowWatch.Cli.Commands;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Cli.Composition;

/// <summary>The lines a person reads at start and stop, and warnings; with <c>--log-format json</c> they are log records like the rest.</summary>
public sealed class WatcherConsole(WatcherSettings settings, ILoggerFactory logs)
{
    private readonly ILogger _log = logs.CreateLogger("flowwatch.watch");

    public void Say(string text)
    {
        if (settings.Logging.Json) _log.LogInformation("{Message}", text.StartsWith("flowwatch: ", StringComparison.Ordinal) ? text[11..] : text);
        else Console.WriteLine(text);
    }

    public void Warn(string text)
    {
        _log.LogWarning("{Problem}", text);
        settings.Warn?.Invoke(text);
    }
}
