using Microsoft.Extensions.Logging;

namespace FlowWatch.Hubble;

public sealed partial class HubbleStreamSource
{
    /// <summary>Every message the Hubble client logs: connection state, reconnects with their backoff, lost events, bad messages.</summary>
    /// <remarks>Targets are logged as given (host:port or socket path); no flow content, header or credential ever is.</remarks>
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "hubble {Target}: connecting ({Transport})", EventName = "HubbleConnecting")]
        public static partial void Connecting(ILogger logger, string target, string transport);

        [LoggerMessage(2, LogLevel.Information, "hubble {Target}: connected (stream {Stream})", EventName = "HubbleConnected")]
        public static partial void Connected(ILogger logger, string target, long stream);

        [LoggerMessage(3, LogLevel.Warning, "hubble {Target}: connection lost: {Reason}; reconnecting in {BackoffSeconds:0.##}s", EventName = "HubbleConnectionLost")]
        public static partial void ConnectionLost(ILogger logger, string target, string reason, double backoffSeconds);

        [LoggerMessage(4, LogLevel.Warning, "hubble {Target}: cannot connect: {Reason}; attempt {Attempt}, retrying in {BackoffSeconds:0.##}s", EventName = "HubbleConnectFailed")]
        public static partial void ConnectFailed(ILogger logger, string target, string reason, int attempt, double backoffSeconds);

        [LoggerMessage(5, LogLevel.Warning, "hubble {Target}: {Lost} events lost ({LostSource}); {TotalLost} in all", EventName = "HubbleEventsLost")]
        public static partial void EventsLost(ILogger logger, string target, ulong lost, string lostSource, ulong totalLost);

        [LoggerMessage(6, LogLevel.Warning, "hubble {Target}: {Count} undecodable messages skipped, last: {Reason}", EventName = "HubbleBadMessage")]
        public static partial void BadMessage(ILogger logger, string target, string reason, ulong count);

        [LoggerMessage(7, LogLevel.Information, "hubble {Target}: stopped after {Received} flows ({Lost} events lost, {Bad} undecodable messages)", EventName = "HubbleStopped")]
        public static partial void Stopped(ILogger logger, string target, long received, ulong lost, long bad);
    }

    /// <summary>Counts notices and says when one is due in the log: the first at once, later ones summed per <see cref="LogFoldPeriod"/>.</summary>
    private sealed class FoldedCount
    {
        private readonly Lock _lock = new();
        private long _lastLoggedAt = long.MinValue;
        private ulong _pending;

        /// <summary>Adds <paramref name="count"/>; true with the sum to log when a line is due.</summary>
        public bool Add(ulong count, out ulong due)
        {
            lock (_lock)
            {
                _pending = LostEventSourceNames.SaturatingAdd(_pending, count);
                var now = Environment.TickCount64;
                if (_lastLoggedAt != long.MinValue && now - _lastLoggedAt < (long)LogFoldPeriod.TotalMilliseconds) { due = 0; return false; }
                _lastLoggedAt = now;
                (due, _pending) = (_pending, 0);
                return true;
            }
        }

        /// <summary>What was added since the last line (said at stop, so nothing folded goes unlogged).</summary>
        public ulong TakePending()
        {
            lock (_lock)
            {
                var due = _pending;
                _pending = 0;
                return due;
            }
        }
    }
}
