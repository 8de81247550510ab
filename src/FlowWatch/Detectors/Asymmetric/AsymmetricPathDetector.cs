using System.Reactive.Linq;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Findings;
using FlowWatch.Kubernetes;

namespace FlowWatch.Detectors.Asymmetric;

/// <summary>Finds pods whose SYN-ACKs to one client range are lost on the way back (rp_filter, cloud source check).</summary>
/// <remarks>
/// Split like the backend-health detector: <see cref="AsymmetricGroupTable"/> keeps the (server pod, client peer range)
/// groups, each a rolling window of outcome counts, and the ENI placements; <see cref="AsymmetricPathPolicy"/> turns a
/// group's counts into a verdict; <see cref="AsymmetricPathText"/> writes the <see cref="FindingKind.AsymmetricPath"/>
/// finding and <see cref="AsymmetricPathMetrics"/> the gauges; this class feeds classified handshakes in and reports.
/// Also the "handshakes" section of the pod report.
/// </remarks>
public sealed class AsymmetricPathDetector : IDetector, IPodInsight
{
    private readonly AsymmetricPathOptions _options;
    private readonly HandshakeClassifierLease _classifier;
    private readonly object _gate = new();
    private readonly AsymmetricGroupTable _table;
    private readonly List<IDisposable> _subscriptions = [];
    private FindingTracker? _tracker;
    private AsymmetricPathMetrics? _metrics;
    private DateTimeOffset _now;

    public AsymmetricPathDetector(AsymmetricPathOptions? options = null, HandshakeClassifier? classifier = null)
    {
        _options = options ?? new AsymmetricPathOptions();
        _options.Validate();
        _classifier = new HandshakeClassifierLease(classifier);
        _table = new AsymmetricGroupTable(_options, () => _metrics?.GroupEvicted());
    }

    public string Name => "asymmetric-path";

    /// <summary>Reads each flow in its observer and keeps only values (interned names, numbers), never the record.</summary>
    public bool KeepsRecords => false;

    public string Section => "handshakes";

    public HandshakeClassifier Classifier => _classifier.Classifier;

    /// <summary>(pod, peer range) groups dropped because <see cref="AsymmetricPathOptions.MaxGroups"/> was reached.</summary>
    public long GroupsEvicted { get { lock (_gate) return _table.Evicted; } }

    /// <summary>ENI placements not remembered because <see cref="AsymmetricPathOptions.MaxEniAddresses"/> was reached.</summary>
    public long EniAddressesIgnored { get { lock (_gate) return _table.EniIgnored; } }

    public int GroupCount { get { lock (_gate) return _table.Count; } }

    public IObservable<Finding> Attach(DetectorContext context)
    {
        _tracker = new FindingTracker(context.Scheduler, _options.QuietPeriod);
        _metrics = new AsymmetricPathMetrics(context.Metrics);
        _subscriptions.Add(_tracker.Findings.Subscribe(f => { lock (_gate) _metrics.Track(f); }));
        _subscriptions.Add(_classifier.Attach(context).Subscribe(OnHandshake));
        _subscriptions.Add(context.Cluster.OfType<EniAddressState>().Subscribe(e => { lock (_gate) _table.Apply(e); }));
        _subscriptions.Add(Observable.Interval(_options.Bucket, context.Scheduler)
            .Subscribe(_ => ExpireQuietGroups(context.Scheduler.Now)));
        return _tracker.Findings;
    }

    private void OnHandshake(ClassifiedHandshake h)
    {
        if (h.ServerPod.Length == 0) return;
        Finding? finding;
        lock (_gate)
        {
            _now = h.DecidedAt > _now ? h.DecidedAt : _now;
            var g = _table.Touch(new AsymmetricGroupKey(h.ServerNamespace, h.ServerPod, _options.RangeOf(h.ClientIp)));
            g.Workload = h.ServerWorkload;
            g.ServerIp = h.ServerIp;
            g.Port = h.ServerPort;
            if (h.Node.Length != 0) g.Node = h.Node;
            g.LastSeen = _now;
            g.Counts.Add(h.DecidedAt, (int)h.Outcome);
            if (h.Outcome == HandshakeOutcome.ReplyLost) g.SynRetransmissions += h.SynTransmissions - 1;
            finding = Evaluate(g);
        }
        if (finding is not null) _tracker!.Report(finding);
    }

    private Finding? Evaluate(AsymmetricGroup g)
    {
        g.Counts.AdvanceTo(_now);
        var total = g.Counts.Sum(0, HandshakeOutcomes.Count);
        var replyLost = g.Total(HandshakeOutcome.ReplyLost);
        var ingressLost = g.Total(HandshakeOutcome.IngressLost);
        // The cheap test first: most groups are healthy and need no look at their siblings or ENI.
        if (!AsymmetricPathPolicy.Suspect(total, replyLost + ingressLost, _options)) return null;

        long otherCompleted = 0;
        var healthyRanges = new List<string>();
        foreach (var other in _table.GroupsOf(g.Key.Namespace, g.Key.Pod)!)
        {
            if (ReferenceEquals(other, g)) continue;
            other.Counts.AdvanceTo(_now);
            var c = other.Total(HandshakeOutcome.Completed);
            if (c == 0) continue;
            otherCompleted += c;
            if (healthyRanges.Count < 3) healthyRanges.Add(other.Key.Range.ToString());
        }
        var eni = _table.EniOf(g.ServerIp);
        var counts = new AsymmetricCounts(total, replyLost, ingressLost, otherCompleted, eni?.Primary);
        var verdict = AsymmetricPathPolicy.Judge(counts, _options);
        return verdict.Raise ? AsymmetricPathText.Build(g, counts, verdict, healthyRanges, eni, _options.Window, _now) : null;
    }

    private void ExpireQuietGroups(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (now > _now) _now = now;
            _table.ExpireBefore(now - _options.Window - _options.QuietPeriod);
        }
    }

    public bool KnowsPod(string @namespace, string pod)
    {
        lock (_gate) return _table.GroupsOf(@namespace, pod) is not null;
    }

    public object? DescribePod(string @namespace, string pod)
    {
        lock (_gate)
        {
            if (_table.GroupsOf(@namespace, pod) is not { } groups) return null;
            var totals = new long[HandshakeOutcomes.Count];
            var byRange = new Dictionary<string, IReadOnlyDictionary<string, long>>(StringComparer.Ordinal);
            var asymmetric = new List<string>();
            foreach (var g in groups)
            {
                g.Counts.AdvanceTo(_now);
                var counts = new Dictionary<string, long>(StringComparer.Ordinal);
                for (var i = 0; i < HandshakeOutcomes.Count; i++)
                {
                    var n = g.Counts.Total(i);
                    totals[i] += n;
                    if (n != 0) counts[HandshakeOutcomes.AllNames[i]] = n;
                }
                var range = g.Key.Range.ToString();
                byRange[range] = counts;
                if (_metrics?.IsOpen(g) == true) asymmetric.Add(range);
            }
            var outcomes = new Dictionary<string, long>(StringComparer.Ordinal);
            for (var i = 0; i < HandshakeOutcomes.Count; i++) outcomes[HandshakeOutcomes.AllNames[i]] = totals[i];
            return new Dictionary<string, object>
            {
                ["window_seconds"] = (long)_options.Window.TotalSeconds,
                ["outcomes"] = outcomes,
                ["by_peer_range"] = byRange,
                ["asymmetric_peer_ranges"] = asymmetric,
            };
        }
    }

    public void Dispose()
    {
        foreach (var s in _subscriptions) s.Dispose();
        _subscriptions.Clear();
        _tracker?.Dispose();
        _classifier.Dispose();
    }
}
