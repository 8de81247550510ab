namespace FlowWatch.Hubble;

/// <summary>Cancels a stream that has delivered nothing for the idle timeout: a stall that the HTTP/2 pings cannot see.</summary>
/// <remarks>
/// Each message only stores a timestamp (<see cref="Touch"/>); a timer checks it a few times per timeout, so the
/// per-message cost stays one memory write instead of re-arming a timer per flow.
/// </remarks>
public sealed class StreamWatchdog : IDisposable
{
    private readonly TimeSpan _idle;
    private readonly CancellationTokenSource _cancel;
    private readonly ITimer _timer;
    private readonly TimeProvider _time;
    private long _lastTouch;

    public StreamWatchdog(TimeSpan idle, CancellationToken outer, TimeProvider? time = null)
    {
        _idle = idle;
        _time = time ?? TimeProvider.System;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _lastTouch = _time.GetTimestamp();
        var check = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond * 20, idle.Ticks / 4));
        _timer = _time.CreateTimer(_ => Check(), null, check, check);
    }

    /// <summary>Cancelled by the outer token or by a stall.</summary>
    public CancellationToken Token => _cancel.Token;

    public bool Stalled { get; private set; }

    public void Touch() => Volatile.Write(ref _lastTouch, _time.GetTimestamp());

    private void Check()
    {
        if (Stalled || _time.GetElapsedTime(Volatile.Read(ref _lastTouch)) < _idle) return;
        Stalled = true;
        try { _cancel.Cancel(); } catch (ObjectDisposedException) { }
    }

    public void Dispose()
    {
        _timer.Dispose();
        _cancel.Dispose();
    }
}
