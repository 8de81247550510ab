using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;

namespace FlowWatch.Findings;

/// <summary>Opens, updates and resolves one detector's findings by key, in event time.</summary>
/// <remarks>
/// A detector calls <see cref="Report"/> whenever its evidence says the problem is present; the
/// tracker emits the finding when it opens or its evidence changes, and emits it resolved once no
/// report has come for <c>quietPeriod</c> of event time. Open findings are bounded by count; the
/// oldest is dropped (and counted) when a new one would pass the bound.
/// </remarks>
public sealed class FindingTracker : IDisposable
{
    private readonly IScheduler _scheduler;
    private readonly TimeSpan _quietPeriod;
    private readonly int _capacity;
    private readonly Subject<Finding> _out = new();
    private readonly Dictionary<string, Finding> _open = new(StringComparer.Ordinal);
    private readonly IDisposable _sweep;
    private readonly object _gate = new();

    public FindingTracker(IScheduler scheduler, TimeSpan quietPeriod, int capacity = 10_000, TimeSpan? sweepEvery = null)
    {
        _scheduler = scheduler;
        _quietPeriod = quietPeriod;
        _capacity = capacity;
        var every = sweepEvery ?? TimeSpan.FromSeconds(Math.Max(1, Math.Min(10, quietPeriod.TotalSeconds / 4)));
        _sweep = Observable.Interval(every, scheduler).Subscribe(_ => Sweep());
    }

    /// <summary>Findings as they open, change and resolve.</summary>
    public IObservable<Finding> Findings => _out;

    /// <summary>Findings dropped because too many were open at once.</summary>
    public long Evicted { get; private set; }

    public IReadOnlyList<Finding> Open
    {
        get { lock (_gate) return _open.Values.ToList(); }
    }

    /// <summary>The problem keyed by <paramref name="finding"/>'s Id is present now; keeps its first-seen time.</summary>
    public void Report(Finding finding)
    {
        Finding? emitted = null;
        lock (_gate)
        {
            var now = _scheduler.Now;
            if (_open.TryGetValue(finding.Id, out var previous))
            {
                var updated = finding with { FirstSeen = previous.FirstSeen, LastSeen = now, State = FindingState.Open };
                _open[finding.Id] = updated;
                if (!SameEvidence(previous, updated)) emitted = updated;
            }
            else
            {
                if (_open.Count >= _capacity)
                {
                    var oldest = _open.Values.MinBy(f => f.LastSeen)!;
                    _open.Remove(oldest.Id);
                    Evicted++;
                }
                emitted = finding with { FirstSeen = finding.FirstSeen == default ? now : finding.FirstSeen, LastSeen = now, State = FindingState.Open };
                _open[finding.Id] = emitted;
            }
        }
        if (emitted is not null) _out.OnNext(emitted);
    }

    /// <summary>Resolves one open finding now, when its detector has evidence that the problem is over.</summary>
    public bool Resolve(string id)
    {
        Finding? resolved;
        lock (_gate)
        {
            if (!_open.Remove(id, out var f)) return false;
            resolved = f with { State = FindingState.Resolved };
        }
        _out.OnNext(resolved);
        return true;
    }

    /// <summary>Resolves every finding quiet for the quiet period. Runs on the scheduler; callable directly.</summary>
    public void Sweep()
    {
        List<Finding>? resolved = null;
        lock (_gate)
        {
            var now = _scheduler.Now;
            foreach (var f in _open.Values)
                if (now - f.LastSeen >= _quietPeriod)
                    (resolved ??= []).Add(f with { State = FindingState.Resolved });
            if (resolved is not null)
                foreach (var f in resolved) _open.Remove(f.Id);
        }
        if (resolved is null) return;
        foreach (var f in resolved) _out.OnNext(f);
    }

    private static bool SameEvidence(Finding a, Finding b) =>
        a.Severity == b.Severity && a.Summary == b.Summary && a.Evidence.Count == b.Evidence.Count &&
        a.Evidence.All(p => b.Evidence.TryGetValue(p.Key, out var v) && v == p.Value);

    public void Dispose()
    {
        _sweep.Dispose();
        _out.OnCompleted();
        _out.Dispose();
    }
}
