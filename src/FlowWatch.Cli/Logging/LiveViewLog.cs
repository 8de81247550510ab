using Microsoft.Extensions.Logging;

namespace FlowWatch.Cli.Logging;

/// <summary>Log messages while the live view owns the terminal: kept (bounded) for the view to show, instead of written
/// over its redrawn screen, and written to stderr in full once the view has ended.</summary>
/// <remarks>A line written to the terminal between two redraws moves the view's cursor arithmetic off by that many rows,
/// so the next frame is drawn below a half-overwritten one (the lost-events warning every Relay-shaped demo now logs).</remarks>
public sealed class LiveViewLog : ILoggerProvider
{
    public const int Capacity = 200;

    /// <summary>The one the CLI's logging and its live view share (one terminal per process).</summary>
    public static LiveViewLog Shared { get; } = new();

    private readonly Lock _gate = new();
    private readonly Queue<string> _lines = new();
    private long _dropped;
    private bool _released;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>The newest <paramref name="count"/> messages, oldest first.</summary>
    public IReadOnlyList<string> Recent(int count)
    {
        lock (_gate) return [.. _lines.Skip(Math.Max(0, _lines.Count - count))];
    }

    /// <summary>The view has ended: what it kept goes to stderr, and later messages go there directly.</summary>
    public void Release()
    {
        string[] kept;
        long dropped;
        lock (_gate)
        {
            if (_released) return;
            _released = true;
            kept = [.. _lines];
            dropped = _dropped;
            _lines.Clear();
        }
        if (dropped > 0) Console.Error.WriteLine($"({dropped:N0} older log messages from the live view's run were not kept; it keeps {Capacity})");
        foreach (var line in kept) Console.Error.WriteLine(line);
    }

    private void Add(string line)
    {
        lock (_gate)
        {
            if (!_released)
            {
                _lines.Enqueue(line);
                if (_lines.Count > Capacity) { _lines.Dequeue(); _dropped++; }
                return;
            }
        }
        Console.Error.WriteLine(line);
    }

    /// <summary>The logging ends (the host is disposed): nothing kept may be lost, even when the view never ran.</summary>
    public void Dispose() => Release();

    private sealed class Logger(LiveViewLog owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var text = formatter(state, exception);
            if (exception is not null) text += $" ({exception.GetType().Name}: {exception.Message})";
            owner.Add($"{DateTime.UtcNow:HH:mm:ss} {Level(logLevel)}: {category} {text}");
        }

        private static string Level(LogLevel level) => level switch
        {
            LogLevel.Trace => "trce", LogLevel.Debug => "dbug", LogLevel.Information => "info",
            LogLevel.Warning => "warn", LogLevel.Error => "fail", _ => "crit",
        };
    }
}
