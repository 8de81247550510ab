using FlowWatch.Cli.CommandLine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace FlowWatch.Cli.Logging;

/// <summary>--log-level and --log-format of watch and demo: every component logs through one console logger factory.</summary>
/// <remarks>JSON lines (<c>--log-format json</c>) are for <c>kubectl logs</c> and log pipelines. Nothing FlowWatch logs holds
/// a token or a flow payload: messages carry names, counts and states only.</remarks>
public sealed record CliLogging(LogLevel Level, bool Json)
{
    public static readonly OptionSpec[] Options =
    [
        new("log-level", "Least severe log messages shown: trace, debug, information, warning, error or critical.", "LEVEL", "information"),
        new("log-format", "text (one line per message) or json (one JSON object per line, for kubectl logs and log pipelines).", "FORMAT", "text"),
    ];

    public static CliLogging From(ParsedArgs args)
    {
        var level = args.Get("log-level")!.ToLowerInvariant() switch
        {
            "trace" => LogLevel.Trace, "debug" => LogLevel.Debug, "information" or "info" => LogLevel.Information,
            "warning" or "warn" => LogLevel.Warning, "error" => LogLevel.Error, "critical" => LogLevel.Critical,
            var other => throw new UsageException($"option '--log-level' must be trace, debug, information, warning, error or critical (got '{other}')."),
        };
        var json = args.Get("log-format") switch
        {
            "text" => false, "json" => true,
            var other => throw new UsageException($"option '--log-format' must be text or json (got '{other}')."),
        };
        return new CliLogging(level, json);
    }

    /// <summary>The console logger factory; under the live view only warnings and worse, kept by <see cref="LiveViewLog"/> for the view to show and
    /// written to stderr when it ends, so the redrawn screen is never written over.</summary>
    public ILoggerFactory CreateFactory(bool liveView) => LoggerFactory.Create(b => Configure(b, liveView));

    /// <summary>Adds the console provider and the levels to <paramref name="b"/> (a host's logging builder, or a standalone factory's).</summary>
    public void Configure(ILoggingBuilder b, bool liveView)
    {
        if (liveView) b.AddProvider(LiveViewLog.Shared);
        else if (Json)
            b.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });
        else
            b.AddSimpleConsole(o => { o.SingleLine = true; o.UseUtcTimestamp = true; o.TimestampFormat = "HH:mm:ss "; });
        b.SetMinimumLevel(liveView && Level < LogLevel.Warning ? LogLevel.Warning : Level);
        // ASP.NET Core's per-request lines say nothing an operator needs; its warnings still show.
        b.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    }
}
