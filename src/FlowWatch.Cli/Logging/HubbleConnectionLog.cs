using FlowWatch.Hubble;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Cli.Logging;

/// <summary>Logs each change of the Hubble stream's state (connected, reconnecting and why, stopped) and of lost events.</summary>
/// <remarks>Read from the source's public state on a short period rather than from inside the client, so the client's
/// hot path stays free of logging.</remarks>
public sealed partial class HubbleConnectionLog(HubbleStreamSource source, ILogger logger)
{
    public async Task RunAsync(TimeSpan every, CancellationToken ct)
    {
        HubbleConnectionState? last = null;
        string? lastError = null;
        ulong lost = 0;
        using var timer = new PeriodicTimer(every);
        try
        {
            do
            {
                var state = source.Connection;
                var error = source.LastError;
                if (state != last || state == HubbleConnectionState.Backoff && error != lastError)
                {
                    switch (state)
                    {
                        case HubbleConnectionState.Connected: Connected(logger, source.Target); break;
                        case HubbleConnectionState.Backoff: Reconnecting(logger, source.Target, error ?? "unknown"); break;
                        case HubbleConnectionState.Connecting when last is null: Connecting(logger, source.Target); break;
                    }
                    (last, lastError) = (state, error);
                }
                if (source.LostEvents != lost)
                {
                    EventsLost(logger, source.Target, source.LostEvents - lost, source.LostEvents);
                    lost = source.LostEvents;
                }
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        Stopped(logger, source.Target, source.Received);
    }

    [LoggerMessage(1, LogLevel.Information, "hubble {Target}: connecting")]
    private static partial void Connecting(ILogger logger, string target);

    [LoggerMessage(2, LogLevel.Information, "hubble {Target}: connected")]
    private static partial void Connected(ILogger logger, string target);

    [LoggerMessage(3, LogLevel.Warning, "hubble {Target}: stream down, reconnecting: {Reason}")]
    private static partial void Reconnecting(ILogger logger, string target, string reason);

    [LoggerMessage(4, LogLevel.Warning, "hubble {Target}: {Lost} more events lost ({Total} in all)")]
    private static partial void EventsLost(ILogger logger, string target, ulong lost, ulong total);

    [LoggerMessage(5, LogLevel.Information, "hubble {Target}: stopped after {Received} flows")]
    private static partial void Stopped(ILogger logger, string target, long received);
}
