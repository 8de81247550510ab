using System.Reactive.Concurrency;

namespace FlowWatch.Pipeline;

/// <summary>Event time for the detectors: a virtual-time scheduler that crosses a gap of any length in a bounded number of steps.</summary>
/// <remarks>
/// Detector timers (<c>Observable.Interval</c>, <c>Observable.Timer</c>) run on this clock, and Rx schedules their periodic
/// work through <see cref="ISchedulerPeriodic"/>. A <see cref="System.Reactive.Concurrency.HistoricalScheduler"/> runs every
/// tick between two flows, so a ten-year gap (merged recordings, an agent with a wrong clock) meant hundreds of millions of
/// ticks. Here an advance steps tick by tick only through the first <see cref="CatchUp"/> of the gap, long enough for every
/// detector window, timeout and quiet period to expire at its own time; the rest of the gap is crossed at once: every timer
/// still due fires once, at the target time, and periodic timers resume on their own phase after it. The cost of a jump is
/// therefore bounded by <c>CatchUp / period</c> per timer, whatever its length. Single-threaded like the pipeline that drives it.
/// </remarks>
public sealed class EventTimeScheduler : IScheduler, ISchedulerPeriodic, IServiceProvider
{
    private readonly PriorityQueue<WorkItem, (long Due, long Seq)> _queue = new();
    private long _seq;
    private long _now;
    private bool _running;

    public EventTimeScheduler(DateTimeOffset start, TimeSpan catchUp)
    {
        if (catchUp < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(catchUp), "catch-up must not be negative");
        _now = start.UtcTicks;
        CatchUp = catchUp;
    }

    /// <summary>How much of a gap is stepped through tick by tick before the rest is crossed at once.</summary>
    public TimeSpan CatchUp { get; }

    public DateTimeOffset Now => new(_now, TimeSpan.Zero);

    /// <summary>Advances that were longer than <see cref="CatchUp"/> and so were crossed at once.</summary>
    public long Jumps { get; private set; }

    /// <summary>Periodic ticks not run because a jump collapsed them into one.</summary>
    public long TicksSkipped { get; private set; }

    /// <summary>Timers waiting (including cancelled ones not yet reached).</summary>
    public int Pending => _queue.Count;

    /// <summary>Moves event time to <paramref name="target"/> (never back), running what falls due on the way.</summary>
    public void AdvanceTo(DateTimeOffset target)
    {
        if (_running) throw new InvalidOperationException("event time cannot be advanced from inside a timer");
        var to = Math.Max(target.UtcTicks, _now);
        var horizon = to - _now > CatchUp.Ticks ? _now + CatchUp.Ticks : long.MaxValue;
        var jumped = false;
        _running = true;
        try
        {
            while (_queue.TryPeek(out var item, out var at) && at.Due <= to)
            {
                _queue.Dequeue();
                if (item.Cancelled) continue;
                if (at.Due > horizon)
                {
                    if (!jumped) { jumped = true; Jumps++; }
                    _now = to;
                }
                else if (at.Due > _now) _now = at.Due;
                item.Run(this, collapseTo: jumped ? to : long.MinValue);
            }
        }
        finally { _running = false; }
        _now = to;
    }

    public void AdvanceBy(TimeSpan span)
    {
        if (span > TimeSpan.Zero) AdvanceTo(Now + span);
    }

    public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action) =>
        Enqueue(new OneShot<TState>(state, action), _now);

    public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action) =>
        Enqueue(new OneShot<TState>(state, action), _now + Math.Max(0, dueTime.Ticks));

    public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action) =>
        Enqueue(new OneShot<TState>(state, action), Math.Max(dueTime.UtcTicks, _now));

    public IDisposable SchedulePeriodic<TState>(TState state, TimeSpan period, Func<TState, TState> action)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(period.Ticks, nameof(period));
        var p = Math.Max(1, period.Ticks);
        return Enqueue(new Periodic<TState>(state, p, action), _now + p);
    }

    public object? GetService(Type serviceType) => serviceType == typeof(ISchedulerPeriodic) ? this : null;

    private WorkItem Enqueue(WorkItem item, long due)
    {
        item.Due = due;
        _queue.Enqueue(item, (due, _seq++));
        return item;
    }

    private abstract class WorkItem : IDisposable
    {
        public long Due;
        public bool Cancelled;

        public abstract void Run(EventTimeScheduler scheduler, long collapseTo);

        public virtual void Dispose() => Cancelled = true;
    }

    private sealed class OneShot<TState>(TState state, Func<IScheduler, TState, IDisposable> action) : WorkItem
    {
        private IDisposable? _inner;

        public override void Run(EventTimeScheduler scheduler, long collapseTo)
        {
            _inner = action(scheduler, state);
            if (Cancelled) _inner.Dispose();
        }

        public override void Dispose()
        {
            base.Dispose();
            _inner?.Dispose();
        }
    }

    private sealed class Periodic<TState>(TState state, long period, Func<TState, TState> action) : WorkItem
    {
        private TState _state = state;

        public override void Run(EventTimeScheduler scheduler, long collapseTo)
        {
            _state = action(_state);
            if (Cancelled) return;
            var next = Due + period;
            if (collapseTo != long.MinValue && next <= collapseTo)
            {
                // Crossing a jump: this firing stands for every tick in the gap; resume on the same phase after it.
                var skipped = (collapseTo - next) / period + 1;
                scheduler.TicksSkipped += skipped;
                next += skipped * period;
            }
            scheduler.Enqueue(this, next);
        }
    }
}
