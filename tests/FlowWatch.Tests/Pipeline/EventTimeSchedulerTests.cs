using System.Reactive.Concurrency;
using System.Reactive.Linq;
using FlowWatch.Pipeline;

namespace FlowWatch.Tests.Pipeline;

public sealed class EventTimeSchedulerTests
{
    private static readonly DateTimeOffset T0 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan CatchUp = TimeSpan.FromMinutes(15);

    [Fact]
    public void ShortAdvance_RunsEveryTick_AtItsOwnTime()
    {
        var clock = new EventTimeScheduler(T0, CatchUp);
        var fired = new List<DateTimeOffset>();
        using var _ = Observable.Interval(TimeSpan.FromSeconds(1), clock).Subscribe(__ => fired.Add(clock.Now));

        clock.AdvanceTo(T0.AddSeconds(10));

        Assert.Equal(Enumerable.Range(1, 10).Select(s => T0.AddSeconds(s)), fired);
        Assert.Equal(0, clock.Jumps);
    }

    [Fact]
    public void TenYearJump_StepsOnlyTheCatchUp_ThenFiresOnce_AndKeepsThePhase()
    {
        var clock = new EventTimeScheduler(T0, CatchUp);
        var fired = new List<DateTimeOffset>();
        using var _ = Observable.Interval(TimeSpan.FromSeconds(1), clock).Subscribe(__ => fired.Add(clock.Now));
        var target = T0.AddYears(10).AddMilliseconds(500);

        clock.AdvanceTo(target);

        // 900 ticks through the catch-up, one standing for the other ~315 million, none beyond the target.
        Assert.Equal(901, fired.Count);
        Assert.Equal(T0.AddMinutes(15), fired[899]);
        Assert.Equal(target, fired[900]);
        Assert.Equal(1, clock.Jumps);
        Assert.True(clock.TicksSkipped > 300_000_000, $"skipped {clock.TicksSkipped}");
        clock.AdvanceTo(target.AddSeconds(1));
        Assert.Equal(T0.AddYears(10).AddSeconds(1), fired[^1]);
        Assert.Equal(902, fired.Count);
    }

    [Fact]
    public void OneShotTimers_InsideTheCatchUpFireAtTheirTime_BeyondItAtTheTarget()
    {
        var clock = new EventTimeScheduler(T0, CatchUp);
        var fired = new List<(string, DateTimeOffset)>();
        using var a = Observable.Timer(TimeSpan.FromMinutes(5), clock).Subscribe(_ => fired.Add(("5m", clock.Now)));
        using var b = Observable.Timer(TimeSpan.FromDays(3), clock).Subscribe(_ => fired.Add(("3d", clock.Now)));
        using var c = Observable.Timer(TimeSpan.FromDays(400), clock).Subscribe(_ => fired.Add(("400d", clock.Now)));
        var target = T0.AddDays(30);

        clock.AdvanceTo(target);

        Assert.Equal([("5m", T0.AddMinutes(5)), ("3d", target)], fired);
        Assert.Equal(target, clock.Now);
    }

    [Fact]
    public void DisposedTimers_DoNotFire_AndTimeNeverGoesBack()
    {
        var clock = new EventTimeScheduler(T0, CatchUp);
        var ticks = 0;
        var sub = Observable.Interval(TimeSpan.FromSeconds(1), clock).Subscribe(_ => ticks++);
        clock.AdvanceTo(T0.AddSeconds(3));
        sub.Dispose();
        clock.AdvanceTo(T0.AddSeconds(10));
        clock.AdvanceTo(T0.AddSeconds(5));

        Assert.Equal(3, ticks);
        Assert.Equal(T0.AddSeconds(10), clock.Now);
    }

    [Fact]
    public void RecursiveSchedules_AndImmediateWork_RunInOrder()
    {
        var clock = new EventTimeScheduler(T0, CatchUp);
        var order = new List<string>();
        Scheduler.Schedule(clock, TimeSpan.FromSeconds(2), () => order.Add("b"));
        Scheduler.Schedule(clock, TimeSpan.FromSeconds(1), () =>
        {
            order.Add("a");
            Scheduler.Schedule(clock, () => order.Add("a-now"));
        });

        clock.AdvanceTo(T0.AddSeconds(2));

        Assert.Equal(["a", "a-now", "b"], order);
    }
}
