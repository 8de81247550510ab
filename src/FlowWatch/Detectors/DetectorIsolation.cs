using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using FlowWatch.Findings;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace FlowWatch.Detectors;

/// <summary>Keeps one detector's exception from reaching the pipeline or the other detectors.</summary>
/// <remarks>
/// Cilium's metric handlers return their errors (<c>ProcessFlow(ctx, flow) error</c>) and the registry counts them; an
/// Rx observer that throws would instead unwind through <c>Subject.OnNext</c> into the pump, skipping every detector
/// subscribed after it. So each detector gets its own view of the context: flows, cluster changes and scheduled work
/// are delivered through guards that catch, count (<c>flowwatch_detector_errors_total{detector}</c>) and log what the
/// detector throws, then carry on with the next item. A detector whose <see cref="IDetector.Attach"/> throws is
/// counted and runs no further; the others are unaffected. An Rx timer (Observable.Interval) whose observer throws is
/// ended by Rx itself after the throw is caught here: that detector loses the timer, the pipeline and the others do not.
/// </remarks>
public sealed partial class DetectorIsolation
{
    public const string ErrorsMetric = "flowwatch_detector_errors_total";

    /// <summary>After this many logged errors per detector only every 1,000th is logged (all are counted).</summary>
    private const int LoggedInFull = 10;

    private readonly string _name;
    private readonly Counter.Child _errors;
    private readonly ILogger _log;
    private long _count;

    private DetectorIsolation(string name, IMetricFactory metrics, ILogger log)
    {
        _name = name;
        _errors = metrics.CreateCounter(ErrorsMetric, "Exceptions thrown by a detector, caught so the other detectors keep running.",
            new CounterConfiguration { LabelNames = ["detector"] }).WithLabels(name);
        _log = log;
    }

    /// <summary>Exceptions caught from this detector so far.</summary>
    public long Errors => Interlocked.Read(ref _count);

    /// <summary>Attaches <paramref name="detector"/> behind guards; its findings (or nothing, if Attach throws).</summary>
    public static IObservable<Finding> Attach(IDetector detector, DetectorContext context, ILogger? log = null)
    {
        var guard = new DetectorIsolation(detector.Name, context.Metrics, log ?? NullLogger.Instance);
        var isolated = context with
        {
            Root = context,
            Flows = new GuardedObservable<Flows.FlowRecord>(context.Flows, guard),
            Cluster = new GuardedObservable<Kubernetes.ClusterEvent>(context.Cluster, guard),
            Scheduler = new GuardedScheduler(context.Scheduler, guard),
        };
        try
        {
            return detector.Attach(isolated);
        }
        catch (Exception e)
        {
            guard.Report(e, "attach");
            return Observable.Empty<Finding>();
        }
    }

    private void Report(Exception e, string where)
    {
        var n = Interlocked.Increment(ref _count);
        _errors.Inc();
        if (n <= LoggedInFull || n % 1000 == 0) LogDetectorError(_log, _name, where, n, e);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "detector {Detector} threw in {Where} (error #{Count}); it keeps running and the other detectors are unaffected")]
    private static partial void LogDetectorError(ILogger logger, string detector, string where, long count, Exception exception);

    private sealed class GuardedObservable<T>(IObservable<T> source, DetectorIsolation guard) : IObservable<T>
    {
        public IDisposable Subscribe(IObserver<T> observer) => source.Subscribe(new Guard(observer, guard));

        private sealed class Guard(IObserver<T> inner, DetectorIsolation guard) : IObserver<T>
        {
            public void OnNext(T value)
            {
                try { inner.OnNext(value); }
                catch (Exception e) { guard.Report(e, typeof(T).Name); }
            }

            public void OnError(Exception error)
            {
                try { inner.OnError(error); }
                catch (Exception e) { guard.Report(e, "OnError"); }
            }

            public void OnCompleted()
            {
                try { inner.OnCompleted(); }
                catch (Exception e) { guard.Report(e, "OnCompleted"); }
            }
        }
    }

    /// <summary>Runs the detector's timers through a try/catch; it hands itself to the actions so rescheduling stays guarded.</summary>
    /// <remarks>
    /// It passes the inner scheduler's periodic support through (<see cref="ISchedulerPeriodic"/> via
    /// <see cref="IServiceProvider"/>): without it Rx emulates Observable.Interval with one-shot timers, and the event-time
    /// scheduler could no longer cross a long gap in a bounded number of ticks. A periodic action that throws is counted
    /// and keeps its state, so the detector's timer keeps running.
    /// </remarks>
    private sealed class GuardedScheduler(IScheduler inner, DetectorIsolation guard) : IScheduler, ISchedulerPeriodic, IServiceProvider
    {
        private readonly ISchedulerPeriodic? _periodic = inner.AsPeriodic();

        public DateTimeOffset Now => inner.Now;

        public object? GetService(Type serviceType) => serviceType == typeof(ISchedulerPeriodic) && _periodic is not null ? this : null;

        public IDisposable SchedulePeriodic<TState>(TState state, TimeSpan period, Func<TState, TState> action) =>
            (_periodic ?? throw new NotSupportedException("the inner scheduler has no periodic support")).SchedulePeriodic(state, period, s =>
            {
                try { return action(s); }
                catch (Exception e)
                {
                    guard.Report(e, "timer");
                    return s;
                }
            });

        public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action) =>
            inner.Schedule(state, (_, s) => Run(action, s));

        public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action) =>
            inner.Schedule(state, dueTime, (_, s) => Run(action, s));

        public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action) =>
            inner.Schedule(state, dueTime, (_, s) => Run(action, s));

        private IDisposable Run<TState>(Func<IScheduler, TState, IDisposable> action, TState state)
        {
            try { return action(this, state); }
            catch (Exception e)
            {
                guard.Report(e, "timer");
                return Disposable.Empty;
            }
        }
    }
}
