using System.Reactive.Linq;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;

namespace FlowWatch.Detectors.Backends;

/// <summary>Per-backend-pod health of NodePort and LoadBalancer services, from the flows that reach each backend.</summary>
/// <remarks>
/// <para>
/// Split along YARP's seams: <see cref="BackendTable"/> keeps the backend set (index, bounds, cluster fold),
/// <see cref="BackendHealthPolicy"/> turns a backend's window into a verdict, <see cref="BackendFindingText"/> writes the
/// finding and <see cref="BackendMetrics"/> the gauges; this class feeds samples in and applies the verdicts.
/// </para>
/// <para>
/// Each backend keeps a rolling window (<see cref="RollingCounters"/>: a ring of buckets plus running totals, O(1) per
/// event) of handshake outcomes, HTTP classes and a latency histogram. An unhealthy backend raises a Critical
/// <see cref="FindingKind.BackendUnhealthy"/> finding (Warning when none of its siblings is healthy either); a degraded one
/// that fails clearly more than its siblings raises the same finding as a Warning first, so it escalates in place.
/// </para>
/// </remarks>
public sealed class BackendHealthDetector : IDetector, IBackendInsight, IPodInsight
{
    private readonly BackendHealthOptions _options;
    private readonly HandshakeClassifierLease _classifier;
    private readonly BackendTable _table;
    private readonly object _gate = new();
    private readonly List<IDisposable> _subscriptions = [];
    private FindingTracker? _tracker;
    private BackendMetrics? _metrics;
    private DateTimeOffset _now;
    private long _backendsExpired;

    public BackendHealthDetector(BackendHealthOptions? options = null, HandshakeClassifier? classifier = null)
    {
        _options = options ?? new BackendHealthOptions();
        _options.Validate();
        _classifier = new HandshakeClassifierLease(classifier);
        _table = new BackendTable(_options);
    }

    public string Name => "backend-health";

    /// <summary>Reads each flow in its observer and keeps only values (interned names, numbers), never the record.</summary>
    public bool KeepsRecords => false;

    public string Section => "backends";

    public HandshakeClassifier Classifier => _classifier.Classifier;

    /// <summary>Backends dropped because <see cref="BackendHealthOptions.MaxBackends"/> was reached.</summary>
    public long BackendsEvicted { get { lock (_gate) return _table.BackendsEvicted; } }

    /// <summary>Flow-learned backends forgotten after <see cref="BackendHealthOptions.LearnedBackendExpiry"/> without traffic.</summary>
    public long BackendsExpired { get { lock (_gate) return _backendsExpired; } }

    /// <summary>Services not tracked because <see cref="BackendHealthOptions.MaxServices"/> was reached.</summary>
    public long ServicesIgnored { get { lock (_gate) return _table.ServicesIgnored; } }

    public int BackendCount { get { lock (_gate) return _table.BackendCount; } }

    public IObservable<Finding> Attach(DetectorContext context)
    {
        _tracker = new FindingTracker(context.Scheduler, _options.QuietPeriod);
        _metrics = new BackendMetrics(context.Metrics);
        lock (_gate)
        {
            _table.UseMetrics(_metrics);
            _now = context.Scheduler.Now;
            foreach (var s in _options.Services) _table.ApplyStatic(s);
        }
        _subscriptions.Add(_classifier.Attach(context).Subscribe(OnHandshake));
        _subscriptions.Add(context.Flows.Subscribe(OnFlow));
        _subscriptions.Add(context.Cluster.Subscribe(e => { lock (_gate) _table.Apply(e); }));
        _subscriptions.Add(Observable.Interval(_options.Bucket, context.Scheduler).Subscribe(_ => Refresh(context.Scheduler.Now)));
        return _tracker.Findings;
    }

    // ---- samples --------------------------------------------------------------------------------

    private void OnHandshake(ClassifiedHandshake h)
    {
        List<Finding>? findings = null;
        lock (_gate)
        {
            if (h.DecidedAt > _now) _now = h.DecidedAt;
            var backends = _table.Resolve(h.ServerIp, h.ServerPort, h.DestinationService, h.ServerNamespace, h.ServerPod, h.ServerWorkload, h.Node, h.Client);
            if (backends is null) return;
            foreach (var b in backends)
            {
                b.Counts.Add(h.DecidedAt, (int)h.Outcome);
                b.HandshakeCounters?[(int)h.Outcome].Inc();
                _table.Touch(b, h.Node, _now);
                if (Evaluate(b) is { } f) (findings ??= []).Add(f);
            }
        }
        if (findings is not null) foreach (var f in findings) _tracker!.Report(f);
    }

    private void OnFlow(FlowRecord f)
    {
        if (f.Kind != FlowKind.L7 || f.L7 is not { Kind: L7Kind.Response, Http: { } http } l7) return;
        var cls = http.Code / 100;
        if (cls is < 2 or > 5) return;
        List<Finding>? findings = null;
        lock (_gate)
        {
            var at = f.Time;
            if (at > _now) _now = at;
            // A response travels from the backend: the backend is the flow's source.
            var backends = _table.Resolve(f.SourceIp, f.SourcePort, f.SourceService, f.Source.Namespace, f.Source.Pod, f.Source.Workload, f.NodeName, f.Destination);
            if (backends is null) return;
            foreach (var b in backends)
            {
                b.Counts.Add(at, BackendEntry.HttpSlot + cls - 2);
                if (l7.LatencyNanos > 0) b.Counts.Add(at, BackendEntry.LatencySlotFor(l7.LatencyNanos));
                _table.Touch(b, f.NodeName, _now);
                if (Evaluate(b) is { } finding) (findings ??= []).Add(finding);
            }
        }
        if (findings is not null) foreach (var x in findings) _tracker!.Report(x);
    }

    // ---- health ---------------------------------------------------------------------------------

    private BackendVerdict Compute(BackendEntry b)
    {
        b.Counts.AdvanceTo(_now);
        return BackendHealthPolicy.Judge(BackendCounts.Of(b.Counts, _options.Http5xxIsFailure), _options);
    }

    /// <summary>Updates the backend's gauge; the finding to report when it is unhealthy, or degraded clearly beyond its siblings.</summary>
    private Finding? Evaluate(BackendEntry b)
    {
        var verdict = Compute(b);
        b.HealthGauge?.Set(verdict.Score);
        if (verdict.State is not ("unhealthy" or "degraded")) return null;
        if (!verdict.IsUnhealthy && !verdict.Judged) return null;

        var healthyNames = new List<string>();
        int siblings = 0, healthy = 0;
        long samples = 0, failures = 0;
        foreach (var other in b.Service.Backends.Values)
        {
            if (ReferenceEquals(other, b)) continue;
            siblings++;
            var v = Compute(other);
            samples += v.Counts.Handshakes;
            failures += v.Counts.HandshakeFailures;
            if (!v.IsHealthy) continue;
            healthy++;
            if (healthyNames.Count < 5) healthyNames.Add(other.Pod);
        }
        var view = new SiblingView(siblings, healthy, healthyNames, samples == 0 ? 0 : (double)failures / samples);
        if (!verdict.IsUnhealthy && !BackendHealthPolicy.StandsOut(verdict, view.FailureRatio, healthy, _options)) return null;
        return BackendFindingText.Build(b, verdict, view, _options, _now);
    }

    /// <summary>Moves every backend's gauge with time (traffic that stops makes it idle) and forgets quiet learned backends.</summary>
    private void Refresh(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (now > _now) _now = now;
            List<BackendEntry>? expired = null;
            foreach (var svc in _table.Services.Values)
                foreach (var b in svc.Backends.Values)
                {
                    if (b.Learned && (b.LastSeen ?? DateTimeOffset.MinValue) < _now - _options.LearnedBackendExpiry)
                    {
                        (expired ??= []).Add(b);
                        continue;
                    }
                    b.HealthGauge?.Set(Compute(b).Score);
                }
            if (expired is null) return;
            foreach (var b in expired)
            {
                _table.RemoveBackend(b);
                _backendsExpired++;
                _metrics?.Evicted("expired");
                _table.DropIfEmptyLearned(b.Service);
            }
        }
    }

    // ---- insight --------------------------------------------------------------------------------

    public IReadOnlyList<(string Namespace, string Service)> Services
    {
        get
        {
            lock (_gate)
            {
                var list = new List<(string, string)>(_table.Services.Count);
                foreach (var k in _table.Services.Keys) list.Add((k.Ns, k.Name));
                list.Sort();
                return list;
            }
        }
    }

    public IReadOnlyList<BackendHealth>? DescribeService(string @namespace, string service)
    {
        lock (_gate)
        {
            if (!_table.Services.TryGetValue((@namespace, service), out var svc)) return null;
            var list = new List<BackendHealth>(svc.Backends.Count);
            foreach (var b in svc.Backends.Values) list.Add(Describe(b));
            list.Sort((x, y) => string.CompareOrdinal(x.Pod, y.Pod));
            return list;
        }
    }

    public bool KnowsPod(string @namespace, string pod)
    {
        lock (_gate) return _table.ByPod.ContainsKey((@namespace, pod));
    }

    public object? DescribePod(string @namespace, string pod)
    {
        lock (_gate)
        {
            if (!_table.ByPod.TryGetValue((@namespace, pod), out var list)) return null;
            var result = new List<BackendHealth>(list.Count);
            foreach (var b in list) result.Add(Describe(b));
            return result;
        }
    }

    private BackendHealth Describe(BackendEntry b)
    {
        var h = Compute(b);
        var c = b.Counts;
        var handshakes = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < HandshakeOutcomes.Count; i++) handshakes[HandshakeOutcomes.AllNames[i]] = c.Total(i);
        var http = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < 4; i++) http[BackendEntry.HttpClassNames[i]] = c.Total(BackendEntry.HttpSlot + i);
        var port = b.Service.Ports.Count > 0 ? b.Service.Ports[0].TargetPort : 0;
        return new BackendHealth(b.Service.Namespace, b.Service.Name, b.Pod, b.Node, b.Ip.ToString(), port,
            b.Service.NodePortFor(port), h.State, h.Score, handshakes, http, LatencyP50(c), b.Ready, b.LastSeen);
    }

    /// <summary>Upper bound of the histogram bucket holding the median (a power of two in ms), or null without samples.</summary>
    private static double? LatencyP50(RollingCounters c)
    {
        var total = c.Sum(BackendEntry.LatencySlot, BackendEntry.Slots);
        if (total == 0) return null;
        long seen = 0;
        for (var i = 0; i < BackendEntry.LatencyBuckets; i++)
        {
            seen += c.Total(BackendEntry.LatencySlot + i);
            if (seen * 2 >= total) return BackendEntry.LatencyUpperMs(i);
        }
        return null;
    }

    public void Dispose()
    {
        foreach (var s in _subscriptions) s.Dispose();
        _subscriptions.Clear();
        _tracker?.Dispose();
        _classifier.Dispose();
    }
}
