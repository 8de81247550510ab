using System.Globalization;
using System.Reactive.Linq;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using Prometheus;

namespace FlowWatch.Detectors.Asymmetric;

/// <summary>Finds pods whose SYN-ACKs to one client range are lost on the way back (rp_filter, cloud source check).</summary>
/// <remarks>
/// Classified handshakes are grouped by server pod and client peer range, each group a rolling window of
/// outcome counts. A group with at least <see cref="AsymmetricPathOptions.MinHandshakes"/> handshakes of which
/// the reply_lost share reaches <see cref="AsymmetricPathOptions.ReplyLostRatio"/> raises
/// <see cref="FindingKind.AsymmetricPath"/>. Confidence rises when the same pod completes handshakes with other
/// ranges (the pod works, one path does not) and when cluster state puts the pod IP on a secondary ENI, and falls
/// when it is known to be on the primary ENI. Also the "handshakes" section of the pod report.
/// </remarks>
public sealed class AsymmetricPathDetector : IDetector, IPodInsight
{
    private readonly AsymmetricPathOptions _options;
    private readonly HandshakeClassifierLease _classifier;
    private readonly object _gate = new();
    private readonly Dictionary<GroupKey, Group> _groups = new();
    private readonly LinkedList<Group> _lru = new();
    private readonly Dictionary<(string Ns, string Pod), List<Group>> _byPod = new();
    private readonly Dictionary<IpAddr, EniAddressState> _eni = new();
    private readonly Dictionary<(string Ns, string Workload, string Range), HashSet<string>> _openByLabel = new();
    private readonly List<IDisposable> _subscriptions = [];
    private FindingTracker? _tracker;
    private Gauge? _gauge;
    private Counter? _evictions;
    private DateTimeOffset _now;
    private long _evicted, _eniIgnored;

    public AsymmetricPathDetector(AsymmetricPathOptions? options = null, HandshakeClassifier? classifier = null)
    {
        _options = options ?? new AsymmetricPathOptions();
        _options.Validate();
        _classifier = new HandshakeClassifierLease(classifier);
    }

    public string Name => "asymmetric-path";

    public string Section => "handshakes";

    public HandshakeClassifier Classifier => _classifier.Classifier;

    /// <summary>(pod, peer range) groups dropped because <see cref="AsymmetricPathOptions.MaxGroups"/> was reached.</summary>
    public long GroupsEvicted => Interlocked.Read(ref _evicted);

    /// <summary>ENI placements not remembered because <see cref="AsymmetricPathOptions.MaxEniAddresses"/> was reached.</summary>
    public long EniAddressesIgnored => Interlocked.Read(ref _eniIgnored);

    public int GroupCount { get { lock (_gate) return _groups.Count; } }

    public IObservable<Finding> Attach(DetectorContext context)
    {
        _tracker = new FindingTracker(context.Scheduler, _options.QuietPeriod);
        _gauge = context.Metrics.CreateGauge("flowwatch_asymmetric_paths",
            "1 while a pod of the workload has an open asymmetric-path finding for the client peer range, else 0.",
            new GaugeConfiguration { LabelNames = ["namespace", "workload", "peer_range"] });
        _evictions = context.Metrics.CreateCounter("flowwatch_asymmetric_group_evictions_total",
            "Pod/peer-range handshake groups evicted because the bound was reached.");
        _subscriptions.Add(_tracker.Findings.Subscribe(OnFinding));
        _subscriptions.Add(_classifier.Attach(context).Subscribe(OnHandshake));
        _subscriptions.Add(context.Cluster.OfType<EniAddressState>().Subscribe(OnEni));
        _subscriptions.Add(Observable.Interval(_options.Bucket, context.Scheduler)
            .Subscribe(_ => ExpireQuietGroups(context.Scheduler.Now)));
        return _tracker.Findings;
    }

    private void OnEni(EniAddressState eni)
    {
        lock (_gate)
        {
            if (eni.Deleted) { _eni.Remove(eni.Ip); return; }
            if (_eni.Count >= _options.MaxEniAddresses && !_eni.ContainsKey(eni.Ip)) { _eniIgnored++; return; }
            _eni[eni.Ip] = eni;
        }
    }

    private void OnHandshake(ClassifiedHandshake h)
    {
        if (h.ServerPod.Length == 0) return;
        Finding? finding;
        lock (_gate)
        {
            _now = h.DecidedAt > _now ? h.DecidedAt : _now;
            var range = _options.RangeOf(h.ClientIp);
            var key = new GroupKey(h.ServerNamespace, h.ServerPod, range);
            if (!_groups.TryGetValue(key, out var g))
            {
                if (_groups.Count >= _options.MaxGroups && _lru.First is { } oldest)
                {
                    Remove(oldest.Value);
                    _evicted++;
                    _evictions?.Inc();
                }
                g = new Group(key, new RollingCounters(_options.Window, _options.Bucket, HandshakeOutcomes.Count));
                g.LruNode = _lru.AddLast(g);
                _groups[key] = g;
                var podKey = (key.Namespace, key.Pod);
                if (!_byPod.TryGetValue(podKey, out var list)) _byPod[podKey] = list = [];
                list.Add(g);
            }
            else
            {
                _lru.Remove(g.LruNode!);
                _lru.AddLast(g.LruNode!);
            }
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

    private Finding? Evaluate(Group g)
    {
        g.Counts.AdvanceTo(_now);
        var total = g.Counts.Sum(0, HandshakeOutcomes.Count);
        var replyLost = g.Counts.Total((int)HandshakeOutcome.ReplyLost);
        var ingressLost = g.Counts.Total((int)HandshakeOutcome.IngressLost);
        var lost = replyLost + ingressLost;
        if (total < _options.MinHandshakes || lost < _options.ReplyLostRatio * total) return null;

        long otherCompleted = 0;
        var healthyRanges = new List<string>();
        foreach (var other in _byPod[(g.Key.Namespace, g.Key.Pod)])
        {
            if (ReferenceEquals(other, g)) continue;
            other.Counts.AdvanceTo(_now);
            var c = other.Counts.Total((int)HandshakeOutcome.Completed);
            if (c == 0) continue;
            otherCompleted += c;
            if (healthyRanges.Count < 3) healthyRanges.Add(other.Key.Range.ToString());
        }
        _eni.TryGetValue(g.ServerIp, out var eni);

        var confidence = 50;
        if (otherCompleted > 0) confidence += 25;
        if (eni is { Primary: false }) confidence += 20;
        if (eni is { Primary: true }) confidence -= 20;
        var severity = confidence >= 90 ? Severity.Critical : Severity.Warning;

        var range = g.Key.Range.ToString();
        var pod = $"{g.Key.Namespace}/{g.Key.Pod}";
        var completed = g.Counts.Total((int)HandshakeOutcome.Completed);
        var window = FormatSpan(_options.Window);
        var others = otherCompleted > 0
            ? $", while {otherCompleted} handshakes from {string.Join(", ", healthyRanges)} completed"
            : "";
        var eniText = eni is null ? "" : eni.Primary
            ? $" (cluster state puts {g.ServerIp} on the primary interface {eni.Interface} of {eni.Node}, which makes this mechanism less likely)"
            : $" ({g.ServerIp} is on secondary interface {eni.Interface} of {eni.Node})";
        var summary =
            $"Handshakes from clients in {range} to {pod} ({g.ServerIp}:{g.Port}) die on an asymmetric path: {lost} of {total} in the last {window} " +
            (replyLost >= ingressLost
                ? "saw the pod's SYN-ACK but the client kept retransmitting its SYN"
                : "arrived on the node but never reached the pod while the client kept retransmitting its SYN") +
            $"{others}. " +
            $"Replies leave by a different interface than requests arrived on and are dropped by reverse-path filtering or the cloud's " +
            $"source/destination check; check the pod IP's ENI{eniText} and the node's route to {range}.";

        var details = new List<string>
        {
            $"confidence {confidence}%: reply_lost {replyLost}, ingress_lost {ingressLost} of {total} from {range}" +
                (otherCompleted > 0 ? $"; other ranges completed {otherCompleted}" : "; no other range seen completing") +
                (eni is null ? "; ENI placement unknown" : eni.Primary ? "; IP on primary ENI" : "; IP on secondary ENI"),
            $"outcomes from {range}: " + DescribeCounts(g.Counts),
        };
        if (g.Node.Length != 0) details.Add($"server side observed on node {g.Node}");

        var evidence = new Dictionary<string, long>
        {
            ["handshakes"] = total,
            ["reply_lost"] = replyLost,
            ["ingress_lost"] = ingressLost,
            ["completed"] = completed,
            ["timeout"] = g.Counts.Total((int)HandshakeOutcome.Timeout),
            ["other_ranges_completed"] = otherCompleted,
            ["secondary_eni"] = eni is { Primary: false } ? 1 : 0,
            ["confidence_pct"] = confidence,
        };
        return new Finding(
            Id: $"asymmetric_path/{g.Key.Namespace}/{g.Key.Pod}/{range}",
            Kind: FindingKind.AsymmetricPath,
            Severity: severity,
            State: FindingState.Open,
            Subject: new FindingSubject(Namespace: g.Key.Namespace, Workload: g.Workload, Pod: g.Key.Pod,
                Ip: g.ServerIp.ToString(), Node: eni?.Node ?? g.Node, PeerRange: range),
            Evidence: evidence,
            FirstSeen: default,
            LastSeen: _now,
            Summary: summary,
            Details: details);
    }

    private void OnFinding(Finding f)
    {
        if (_gauge is null) return;
        var key = (f.Subject.Namespace, f.Subject.Workload, f.Subject.PeerRange);
        lock (_gate)
        {
            if (!_openByLabel.TryGetValue(key, out var ids)) _openByLabel[key] = ids = new HashSet<string>(StringComparer.Ordinal);
            if (f.State == FindingState.Open) ids.Add(f.Id); else ids.Remove(f.Id);
            // 1 while any pod of the workload has the finding for the range (the dashboard maps 0 ok, 1 suspected).
            _gauge.WithLabels(key.Namespace, key.Workload, key.PeerRange).Set(ids.Count > 0 ? 1 : 0);
            if (ids.Count == 0) _openByLabel.Remove(key);
        }
    }

    private void ExpireQuietGroups(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (now > _now) _now = now;
            var horizon = now - _options.Window - _options.QuietPeriod;
            while (_lru.First is { } first && first.Value.LastSeen < horizon) Remove(first.Value);
        }
    }

    private void Remove(Group g)
    {
        _groups.Remove(g.Key);
        _lru.Remove(g.LruNode!);
        var podKey = (g.Key.Namespace, g.Key.Pod);
        if (_byPod.TryGetValue(podKey, out var list))
        {
            list.Remove(g);
            if (list.Count == 0) _byPod.Remove(podKey);
        }
    }

    public bool KnowsPod(string @namespace, string pod)
    {
        lock (_gate) return _byPod.ContainsKey((@namespace, pod));
    }

    public object? DescribePod(string @namespace, string pod)
    {
        lock (_gate)
        {
            if (!_byPod.TryGetValue((@namespace, pod), out var groups)) return null;
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
                if (_openByLabel.TryGetValue((g.Key.Namespace, g.Workload, range), out var ids) &&
                    ids.Contains($"asymmetric_path/{g.Key.Namespace}/{g.Key.Pod}/{range}"))
                    asymmetric.Add(range);
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

    private static string DescribeCounts(RollingCounters counts)
    {
        var parts = new List<string>();
        for (var i = 0; i < HandshakeOutcomes.Count; i++)
            if (counts.Total(i) != 0) parts.Add($"{HandshakeOutcomes.AllNames[i]} {counts.Total(i)}");
        return string.Join(", ", parts);
    }

    private static string FormatSpan(TimeSpan span) =>
        span.TotalMinutes >= 1 && span.Seconds == 0
            ? span.TotalMinutes.ToString(CultureInfo.InvariantCulture) + "m"
            : span.TotalSeconds.ToString(CultureInfo.InvariantCulture) + "s";

    public void Dispose()
    {
        foreach (var s in _subscriptions) s.Dispose();
        _subscriptions.Clear();
        _tracker?.Dispose();
        _classifier.Dispose();
    }

    private readonly record struct GroupKey(string Namespace, string Pod, IpPrefix Range);

    private sealed class Group(GroupKey key, RollingCounters counts)
    {
        public GroupKey Key { get; } = key;
        public RollingCounters Counts { get; } = counts;
        public string Workload = "";
        public IpAddr ServerIp;
        public ushort Port;
        public string Node = "";
        public DateTimeOffset LastSeen;
        public long SynRetransmissions;
        public LinkedListNode<Group>? LruNode;
    }
}
