using System.Reactive.Concurrency;
using System.Reactive.Linq;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;

namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>Finds pod IPs claimed by two pods, and pods Cilium does not manage, from flows and cluster state.</summary>
/// <remarks>
/// Flows: each pod endpoint's IP is folded into a bounded IP → ownership map (the last named pod is the
/// fast path; a different name records a claim and counts a switch); identity 3 (reserved:unmanaged)
/// is counted per IP. Cluster state: running pods by IP, CiliumEndpoints, agents' readiness. A periodic
/// tick on the event-time scheduler joins both, names the pod to delete (the one without a CiliumEndpoint,
/// else the one that started before its node's agent) and reports to a <see cref="FindingTracker"/>.
/// </remarks>
public sealed class DuplicateIpDetector : IDetector, IPodInsight
{
    private readonly DuplicateIpOptions _options;
    private readonly FlowIpMap _map;
    private readonly ClusterPodView _view;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly Action<PodKey, IpAddr> _onPodGone;
    private IScheduler _scheduler = Scheduler.Default;
    private DuplicateIpMetrics? _metrics;
    private FindingTracker? _tracker;
    private long _shedSeen;
    private Snapshot _snapshot = Snapshot.Empty;
    private readonly Dictionary<IpAddr, IpConflict> _conflicts = new();
    private readonly Dictionary<IpAddr, UnmanagedEndpoint> _unmanaged = new();
    private long _lastTick;

    private sealed record Snapshot(
        IReadOnlyList<IpConflict> Conflicts, IReadOnlyList<UnmanagedEndpoint> Unmanaged,
        IReadOnlyDictionary<PodKey, DuplicateIpPodReport> Pods)
    {
        public static readonly Snapshot Empty = new([], [], new Dictionary<PodKey, DuplicateIpPodReport>());
    }

    public DuplicateIpDetector(DuplicateIpOptions? options = null)
    {
        _options = (options ?? new DuplicateIpOptions()).Validate();
        _map = new FlowIpMap(_options.MaxIps);
        _view = new ClusterPodView(_options);
        _onPodGone = OnPodGone;
    }

    public string Name => "duplicate-ip";

    /// <summary>Reads each flow in its observer and keeps only values (interned names, numbers), never the record.</summary>
    public bool KeepsRecords => false;

    public string Section => "duplicate_ip";

    public DuplicateIpOptions Options => _options;

    /// <summary>Conflicts behind open findings (as of the last evaluation); safe from any thread. The remediator's input.</summary>
    public IReadOnlyList<IpConflict> Conflicts => Volatile.Read(ref _snapshot).Conflicts;

    /// <summary>Unmanaged pod IPs behind open findings (as of the last evaluation); safe from any thread.</summary>
    public IReadOnlyList<UnmanagedEndpoint> UnmanagedEndpoints => Volatile.Read(ref _snapshot).Unmanaged;

    internal int TrackedIps => _map.Count;
    internal int SuspectIps => _map.Suspects.Count;
    internal long EvictedIps => _map.Evicted;
    internal ClusterPodView View => _view;

    public IObservable<Finding> Attach(DetectorContext context)
    {
        if (_tracker is not null) throw new InvalidOperationException("DuplicateIpDetector is already attached");
        _scheduler = context.Scheduler;
        _metrics = new DuplicateIpMetrics(context.Metrics, _options.MaxNodeLabels);
        _tracker = new FindingTracker(context.Scheduler, _options.QuietPeriod, _options.MaxOpenFindings);
        _lastTick = context.Scheduler.Now.UtcTicks;
        _subscriptions.Add(context.Flows.Subscribe(OnFlow));
        _subscriptions.Add(context.Cluster.Subscribe(OnCluster));
        _subscriptions.Add(Observable.Interval(_options.EvaluateEvery, context.Scheduler).Subscribe(_ => Tick()));
        return _tracker.Findings;
    }

    private void OnFlow(FlowRecord flow)
    {
        Observe(flow.SourceIp, flow.Source, flow.NodeName);
        Observe(flow.DestinationIp, flow.Destination, flow.NodeName);
    }

    private void Observe(IpAddr ip, FlowEndpoint e, string node)
    {
        if (ip.IsNone) return;
        var identity = e.Identity;
        if (identity == ReservedIdentity.Unmanaged)
        {
            if (!InPodRange(ip)) return;
            var now = _scheduler.Now.UtcTicks;
            var entry = Touch(ip, now);
            entry.NoteUnmanaged(node, now, now - _options.Window.Ticks);
            if (e.IsPod && !entry.TryRepeat(e.Namespace, e.Pod, identity, node, now)) Claim(entry, e, node, now);
            _map.MarkSuspect(entry);
            return;
        }
        if (!e.IsPod || IsInfrastructure(identity) || !InPodRange(ip)) return;
        {
            var now = _scheduler.Now.UtcTicks;
            var entry = Touch(ip, now);
            if (!entry.TryRepeat(e.Namespace, e.Pod, identity, node, now)) Claim(entry, e, node, now);
        }
    }

    private IpOwnership Touch(IpAddr ip, long now)
    {
        var entry = _map.Touch(ip, now, out var evicted);
        if (evicted) _metrics!.IpMapEvicted.Inc();
        return entry;
    }

    private void Claim(IpOwnership entry, FlowEndpoint e, string node, long now)
    {
        // A stale ipcache can name a deleted pod for a while, and host-network pods share the node's IP.
        if (_view.WasRecentlyDeleted(e.Namespace, e.Pod) || _view.IsHostNetworkIp(entry.Ip)) return;
        if (entry.Claim(e.Namespace, e.Pod, e.Identity, node, now, now - _options.Window.Ticks)) _map.MarkSuspect(entry);
    }

    private static bool IsInfrastructure(uint identity) => identity is ReservedIdentity.Host or ReservedIdentity.World
        or ReservedIdentity.Health or ReservedIdentity.RemoteNode or ReservedIdentity.KubeApiServer
        or ReservedIdentity.Ingress or ReservedIdentity.WorldIpv4 or ReservedIdentity.WorldIpv6;

    private bool InPodRange(IpAddr ip)
    {
        var cidrs = _options.PodCidrs;
        if (cidrs.Count == 0) return true;
        for (var i = 0; i < cidrs.Count; i++)
            if (cidrs[i].Contains(ip)) return true;
        return false;
    }

    private void OnCluster(ClusterEvent change)
    {
        _view.Apply(change, _scheduler.Now.UtcTicks, _onPodGone);
        var shed = _view.Shed;
        if (shed != _shedSeen) { _metrics!.ClusterStateShed.Inc(shed - _shedSeen); _shedSeen = shed; }
    }

    private void OnPodGone(PodKey pod, IpAddr ip)
    {
        if (!ip.IsNone) _map.Get(ip)?.Remove(pod.Namespace, pod.Name);
    }

    /// <summary>Joins flows and cluster state, reports findings, sets gauges. Runs on the scheduler.</summary>
    /// <remarks>
    /// Cluster-state conflicts are conditions and are reported on every tick while they hold; flow evidence
    /// is reported only when new (a further switch between the two names, unmanaged flows since the last
    /// tick), so a finding resolves one quiet period after the flows stop showing the problem.
    /// </remarks>
    internal void Tick()
    {
        var now = _scheduler.Now.UtcTicks;
        var cutoff = now - _options.Window.Ticks;
        var grace = _options.StateGrace.Ticks;
        _map.Expire(cutoff);
        _view.Expire(cutoff);

        var conflicts = new Dictionary<IpAddr, IpConflict>();
        foreach (var ip in _view.ConflictIps(now - grace))
        {
            var pods = _view.RunningOn(ip);
            if (pods.Count >= 2) conflicts[ip] = DuplicateIpPolicy.Conflict(ip, pods, "cluster", 0);
        }
        var unmanaged = new Dictionary<IpAddr, UnmanagedEndpoint>();
        foreach (var (ip, u) in _view.UnmanagedPods(now, grace)) unmanaged[ip] = u;

        List<IpOwnership>? settled = null;
        foreach (var e in _map.Suspects)
        {
            e.ExpireClaims(cutoff);
            var twoClaims = e.A is not null && e.B is not null;
            if (!twoClaims && e.UnmanagedFlows == 0) { (settled ??= []).Add(e); continue; }
            if (twoClaims && e.Alternations >= _options.MinAlternations &&
                (e.Alternations > e.ReportedAlternations || conflicts.ContainsKey(e.Ip)))
            {
                e.ReportedAlternations = e.Alternations;
                MergeFlowConflict(conflicts, e);
            }
            if (e.UnmanagedFlows >= _options.MinUnmanagedFlows && (e.UnmanagedLast > _lastTick || unmanaged.ContainsKey(e.Ip)))
                MergeFlowUnmanaged(unmanaged, e);
        }
        if (settled is not null) foreach (var e in settled) _map.ClearSuspect(e);
        _lastTick = now;

        foreach (var (ip, c) in conflicts)
        {
            _tracker!.Report(DuplicateIpText.ConflictFinding(c, _scheduler.Now));
            _conflicts[ip] = c;
        }
        foreach (var (ip, u) in unmanaged)
        {
            _tracker!.Report(DuplicateIpText.UnmanagedFinding(u, _scheduler.Now));
            _unmanaged[ip] = u;
        }
        PruneAndMeasure();
    }

    /// <summary>Keeps what is behind an open finding, forgets the rest; gauges follow the open findings.</summary>
    private void PruneAndMeasure()
    {
        var open = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in _tracker!.Open) open.Add(f.Id);
        foreach (var ip in _conflicts.Keys.ToList())
            if (!open.Contains(DuplicateIpText.ConflictId(_conflicts[ip].Ip))) _conflicts.Remove(ip);
        foreach (var ip in _unmanaged.Keys.ToList())
            if (!open.Contains(DuplicateIpText.UnmanagedId(_unmanaged[ip].Ip))) _unmanaged.Remove(ip);
        var byNode = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var u in _unmanaged.Values) byNode[u.Node] = byNode.GetValueOrDefault(u.Node) + 1;
        _metrics!.DuplicateIps.Set(_conflicts.Count);
        _metrics.SetUnmanaged(byNode);
        Publish(_conflicts.Values.ToList(), _unmanaged.Values.ToList());
    }

    private void MergeFlowConflict(Dictionary<IpAddr, IpConflict> conflicts, IpOwnership e)
    {
        var a = FromFlows(e.A!);
        var b = FromFlows(e.B!);
        if (conflicts.TryGetValue(e.Ip, out var known))
        {
            var pods = known.Pods.Select(p => Enrich(p, e.A!) ?? Enrich(p, e.B!) ?? p).ToList();
            foreach (var f in new[] { a, b })
                if (!pods.Any(p => p.Namespace == f.Namespace && p.Name == f.Name)) pods.Add(f);
            conflicts[e.Ip] = DuplicateIpPolicy.Conflict(e.Ip, pods, "cluster+flows", e.Alternations);
        }
        else conflicts[e.Ip] = DuplicateIpPolicy.Conflict(e.Ip, [a, b], "flows", e.Alternations);
    }

    private static ConflictPod? Enrich(ConflictPod p, PodClaim c) =>
        c.Is(p.Namespace, p.Name) ? p with { Identity = c.Identity, Flows = c.Flows } : null;

    private ConflictPod FromFlows(PodClaim c) =>
        _view.DescribeKnown(new PodKey(c.Namespace, c.Pod), c.Identity, c.Flows) ??
        new ConflictPod(c.Namespace, c.Pod, c.Node, c.Identity == ReservedIdentity.Unmanaged ? false : null, null, null, c.Identity, c.Flows);

    private void MergeFlowUnmanaged(Dictionary<IpAddr, UnmanagedEndpoint> unmanaged, IpOwnership e)
    {
        if (unmanaged.TryGetValue(e.Ip, out var known))
        {
            unmanaged[e.Ip] = known with { UnmanagedFlows = e.UnmanagedFlows };
            return;
        }
        var (pod, managed, ready) = _view.OwnersOf(e.Ip);
        // Cluster state knows where a pod runs; flows only where they were observed, so prefer the former.
        var node = pod?.Node is { Length: > 0 } pn ? pn : managed?.Node is { Length: > 0 } mn ? mn : e.UnmanagedNode;
        if (pod is null)
            foreach (var c in new[] { e.A, e.B })
                if (c is not null && c.Identity == ReservedIdentity.Unmanaged) { pod = FromFlows(c); break; }
        if (managed is null)
        {
            PodClaim? best = null;
            foreach (var c in new[] { e.A, e.B })
                if (c is not null && c.Identity != ReservedIdentity.Unmanaged && (best is null || c.Flows > best.Flows)) best = c;
            if (best is not null) managed = FromFlows(best);
        }
        unmanaged[e.Ip] = new UnmanagedEndpoint(e.Ip.ToString(), node, pod, managed, e.UnmanagedFlows, pod?.Managed == false, ready);
    }

    private void Publish(List<IpConflict> conflicts, List<UnmanagedEndpoint> unmanaged)
    {
        var pods = new Dictionary<PodKey, DuplicateIpPodReport>();
        foreach (var c in conflicts)
            foreach (var p in c.Pods)
            {
                var delete = ReferenceEquals(p, c.DeleteCandidate);
                pods[new PodKey(p.Namespace, p.Name)] = new DuplicateIpPodReport(c.Ip, "duplicate_ip", p.Managed, p.StartedBeforeAgent,
                    c.Pods.Where(o => !ReferenceEquals(o, p)).Select(o => o.Display).ToList(), delete,
                    delete ? DuplicateIpText.DeleteCommand(p) : null);
            }
        foreach (var u in unmanaged)
        {
            if (u.Pod is not { } p) continue;
            var key = new PodKey(p.Namespace, p.Name);
            if (pods.ContainsKey(key)) continue;
            pods[key] = new DuplicateIpPodReport(u.Ip, "unmanaged", false, p.StartedBeforeAgent,
                u.ManagedOwner is { } m ? [m.Display] : [], true, DuplicateIpText.DeleteCommand(p));
        }
        Volatile.Write(ref _snapshot, new Snapshot(conflicts, unmanaged, pods));
    }

    public object? DescribePod(string @namespace, string pod)
    {
        var key = new PodKey(@namespace, pod);
        if (Volatile.Read(ref _snapshot).Pods.TryGetValue(key, out var report)) return report;
        if (_view.DescribeKnown(key, 0, 0) is not { } known) return null;
        var ip = _view.Pod(key)?.Ip.ToString() ?? "";
        return new DuplicateIpPodReport(ip, "ok", known.Managed, known.StartedBeforeAgent, [], false, null);
    }

    public bool KnowsPod(string @namespace, string pod)
    {
        var key = new PodKey(@namespace, pod);
        return Volatile.Read(ref _snapshot).Pods.ContainsKey(key) || _view.Knows(key);
    }

    public void Dispose()
    {
        foreach (var s in _subscriptions) s.Dispose();
        _subscriptions.Clear();
        _tracker?.Dispose();
    }
}
