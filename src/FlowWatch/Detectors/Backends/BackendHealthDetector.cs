using System.Globalization;
using System.Reactive.Linq;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using Prometheus;

namespace FlowWatch.Detectors.Backends;

/// <summary>Per-backend-pod health of NodePort and LoadBalancer services, from the flows that reach each backend.</summary>
/// <remarks>
/// <para>
/// The backend set comes from cluster state (ServiceState + ServiceBackendsState), from static configuration
/// until cluster state names the service, and from flows whose destination_service names a known service.
/// kube-proxy leaves destination_service empty, so handshakes and HTTP responses are matched to backends by
/// backend IP and target port.
/// </para>
/// <para>
/// Each backend keeps a rolling window (<see cref="RollingCounters"/>: a ring of buckets plus running totals,
/// O(1) per event) of handshake outcomes, HTTP classes and a latency histogram. The failure ratio is the worse
/// of the handshake failure share and the HTTP 5xx share, each only once it has
/// <see cref="BackendHealthOptions.MinSamples"/>; a backend with no traffic in the window is idle, not healthy.
/// An unhealthy backend raises <see cref="FindingKind.BackendUnhealthy"/>.
/// </para>
/// </remarks>
public sealed class BackendHealthDetector : IDetector, IBackendInsight, IPodInsight
{
    private static readonly string[] HttpClassNames = ["2xx", "3xx", "4xx", "5xx"];
    private const int MaxLearnedPorts = 8;

    private readonly BackendHealthOptions _options;
    private readonly HandshakeClassifier _classifier;
    private readonly bool _ownsClassifier;
    private bool _attached;
    private readonly object _gate = new();
    private readonly Dictionary<(string Ns, string Name), ServiceEntry> _services = new();
    private readonly Dictionary<(string Ns, string Name), ServiceBackendsState> _pendingBackends = new();
    private readonly Dictionary<(IpAddr Ip, int Port), List<BackendEntry>> _index = new();
    private readonly Dictionary<(string Ns, string Pod), List<BackendEntry>> _byPod = new();
    private readonly LinkedList<BackendEntry> _learnedByAge = new(), _knownByAge = new();
    private readonly List<IDisposable> _subscriptions = [];
    private FindingTracker? _tracker;
    private Gauge? _health;
    private Counter? _handshakes, _evictions;
    private DateTimeOffset _now;
    private bool _clusterServices;
    private int _backendCount;
    private long _backendsEvicted, _backendsExpired, _servicesIgnored;

    public BackendHealthDetector(BackendHealthOptions? options = null, HandshakeClassifier? classifier = null)
    {
        _options = options ?? new BackendHealthOptions();
        _options.Validate();
        _ownsClassifier = classifier is null;
        _classifier = classifier ?? new HandshakeClassifier();
    }

    public string Name => "backend-health";

    public string Section => "backends";

    public HandshakeClassifier Classifier => _classifier;

    /// <summary>Backends dropped because <see cref="BackendHealthOptions.MaxBackends"/> was reached.</summary>
    public long BackendsEvicted { get { lock (_gate) return _backendsEvicted; } }

    /// <summary>Flow-learned backends forgotten after <see cref="BackendHealthOptions.LearnedBackendExpiry"/> without traffic.</summary>
    public long BackendsExpired { get { lock (_gate) return _backendsExpired; } }

    /// <summary>Services not tracked because <see cref="BackendHealthOptions.MaxServices"/> was reached.</summary>
    public long ServicesIgnored { get { lock (_gate) return _servicesIgnored; } }

    public int BackendCount { get { lock (_gate) return _backendCount; } }

    public IObservable<Finding> Attach(DetectorContext context)
    {
        _tracker = new FindingTracker(context.Scheduler, _options.QuietPeriod);
        _health = context.Metrics.CreateGauge("flowwatch_backend_health",
            "Health of each backend pod of a NodePort/LoadBalancer service: 1 healthy, 0.5 degraded, 0 unhealthy, -1 idle.",
            new GaugeConfiguration { LabelNames = ["namespace", "service", "pod"] });
        _handshakes = context.Metrics.CreateCounter("flowwatch_backend_handshakes_total",
            "TCP handshakes to each backend pod of a NodePort/LoadBalancer service, by outcome.",
            new CounterConfiguration { LabelNames = ["namespace", "service", "pod", "outcome"] });
        _evictions = context.Metrics.CreateCounter("flowwatch_backend_evictions_total",
            "Backends dropped from tracking (reason bound: too many backends; expired: learned from flows and quiet).",
            new CounterConfiguration { LabelNames = ["reason"] });
        _evictions.WithLabels("bound");
        _evictions.WithLabels("expired");

        lock (_gate)
        {
            _now = context.Scheduler.Now;
            foreach (var s in _options.Services) ApplyStatic(s);
        }
        _subscriptions.Add(_classifier.Attach(context).Subscribe(OnHandshake));
        _attached = true;
        _subscriptions.Add(context.Flows.Subscribe(OnFlow));
        _subscriptions.Add(context.Cluster.Subscribe(OnCluster));
        _subscriptions.Add(Observable.Interval(_options.Bucket, context.Scheduler).Subscribe(_ => Refresh(context.Scheduler.Now)));
        return _tracker.Findings;
    }

    // ---- backend set ----------------------------------------------------------------------------

    private void ApplyStatic(StaticServiceConfig s)
    {
        var svc = GetOrAddService(s.Namespace, s.Service);
        if (svc is null) return;
        svc.Type = s.Type;
        svc.Ports = [(s.NodePort, s.TargetPort)];
        var list = new List<BackendState>(s.Backends.Count);
        foreach (var b in s.Backends) list.Add(new BackendState(b.Pod, IpAddr.Parse(b.Ip), b.Node, Ready: false));
        SetBackends(svc, list, readinessKnown: false);
    }

    private void OnCluster(ClusterEvent e)
    {
        lock (_gate)
        {
            switch (e)
            {
                case ServiceState s: ApplyService(s); break;
                case ServiceBackendsState b: ApplyBackends(b); break;
                case PodState p: ApplyPod(p); break;
            }
        }
    }

    private void ApplyService(ServiceState s)
    {
        var key = (s.Namespace, s.Name);
        if (!_clusterServices)
        {
            // From now on cluster state says which services are exposed on nodes; guesses from flows are dropped.
            _clusterServices = true;
            foreach (var learned in _services.Values.Where(v => v.LearnedFromFlows).ToList())
            {
                RemoveAllBackends(learned);
                _services.Remove((learned.Namespace, learned.Name));
            }
        }
        var tracked = !s.Deleted && (s.Type is "NodePort" or "LoadBalancer");
        if (!tracked)
        {
            // Cluster state is authoritative: a service that is gone or not exposed on nodes is dropped, static or not.
            if (_services.Remove(key, out var gone)) RemoveAllBackends(gone);
            _pendingBackends.Remove(key);
            return;
        }
        var svc = GetOrAddService(s.Namespace, s.Name);
        if (svc is null) return;
        var ports = new List<(int, int)>();
        foreach (var p in s.Ports)
            if (p.Protocol is "" or "TCP" && p.TargetPort > 0) ports.Add((p.NodePort, p.TargetPort));
        foreach (var b in svc.Backends.Values) Unindex(b);
        svc.Type = s.Type;
        svc.Ports = ports;
        svc.FromCluster = true;
        svc.LearnedFromFlows = false;
        foreach (var b in svc.Backends.Values) Index(b);
        if (_pendingBackends.Remove(key, out var pending)) ApplyBackends(pending);
    }

    private void ApplyBackends(ServiceBackendsState b)
    {
        var key = (b.Namespace, b.Service);
        if (!_services.TryGetValue(key, out var svc))
        {
            // EndpointSlices can arrive before their Service; keep the latest until we learn the service's type.
            if (b.Deleted) _pendingBackends.Remove(key);
            else if (_pendingBackends.Count < _options.MaxServices || _pendingBackends.ContainsKey(key)) _pendingBackends[key] = b;
            else _servicesIgnored++;
            return;
        }
        SetBackends(svc, b.Deleted ? [] : b.Backends, readinessKnown: true);
    }

    private void ApplyPod(PodState p)
    {
        if (!_byPod.TryGetValue((p.Namespace, p.Name), out var list)) return;
        foreach (var b in list) b.Ready = p.Deleted ? false : p.Ready;
    }

    private ServiceEntry? GetOrAddService(string ns, string name)
    {
        if (_services.TryGetValue((ns, name), out var svc)) return svc;
        if (_services.Count >= _options.MaxServices) { _servicesIgnored++; return null; }
        svc = new ServiceEntry(ns, name);
        _services[(ns, name)] = svc;
        return svc;
    }

    private void SetBackends(ServiceEntry svc, IReadOnlyList<BackendState> backends, bool readinessKnown)
    {
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in backends)
        {
            keep.Add(s.Pod);
            if (svc.Backends.TryGetValue(s.Pod, out var b))
            {
                if (b.Ip != s.Ip) { Unindex(b); b.Ip = s.Ip; Index(b); }
            }
            else
            {
                b = AddBackend(svc, s.Pod, s.Ip, "");
                if (b is null) continue;
            }
            if (s.Node.Length != 0) b.Node = s.Node;
            b.Ready = readinessKnown ? s.Ready : null;
            SetLearned(b, false);
        }
        List<BackendEntry>? gone = null;
        foreach (var b in svc.Backends.Values)
            if (!keep.Contains(b.Pod)) (gone ??= []).Add(b);
        if (gone is not null) foreach (var b in gone) RemoveBackend(b);
    }

    private BackendEntry? AddBackend(ServiceEntry svc, string pod, IpAddr ip, string workload)
    {
        if (_backendCount >= _options.MaxBackends && !EvictOneBackend()) return null;
        var b = new BackendEntry(svc, pod, new RollingCounters(_options.Window, _options.Bucket, BackendEntry.Slots))
        {
            Ip = ip,
            Workload = workload.Length != 0 ? workload : Workloads.FromPodName(pod),
        };
        svc.Backends[pod] = b;
        b.AgeNode = _knownByAge.AddLast(b);
        _backendCount++;
        Index(b);
        var podKey = (svc.Namespace, pod);
        if (!_byPod.TryGetValue(podKey, out var list)) _byPod[podKey] = list = [];
        list.Add(b);
        if (_health is not null && _handshakes is not null)
        {
            b.HealthGauge = _health.WithLabels(svc.Namespace, svc.Name, pod);
            b.HealthGauge.Set(-1);
            b.HandshakeCounters = new Counter.Child[HandshakeOutcomes.Count];
            for (var i = 0; i < HandshakeOutcomes.Count; i++)
                b.HandshakeCounters[i] = _handshakes.WithLabels(svc.Namespace, svc.Name, pod, HandshakeOutcomes.AllNames[i]);
        }
        return b;
    }

    private bool EvictOneBackend()
    {
        // The flow-learned backend quiet longest goes first; one that cluster state or configuration names only after.
        var victim = (_learnedByAge.First ?? _knownByAge.First)?.Value;
        if (victim is null) return false;
        RemoveBackend(victim);
        _backendsEvicted++;
        _evictions?.WithLabels("bound").Inc();
        return true;
    }

    private void RemoveAllBackends(ServiceEntry svc)
    {
        foreach (var b in svc.Backends.Values.ToList()) RemoveBackend(b);
    }

    private void SetLearned(BackendEntry b, bool learned)
    {
        if (b.Learned == learned) return;
        b.Learned = learned;
        if (b.AgeNode is null) return;
        (learned ? _knownByAge : _learnedByAge).Remove(b.AgeNode);
        (learned ? _learnedByAge : _knownByAge).AddLast(b.AgeNode);
    }

    private void RemoveBackend(BackendEntry b)
    {
        if (b.AgeNode is not null) (b.Learned ? _learnedByAge : _knownByAge).Remove(b.AgeNode);
        b.AgeNode = null;
        Unindex(b);
        b.Service.Backends.Remove(b.Pod);
        _backendCount--;
        var podKey = (b.Service.Namespace, b.Pod);
        if (_byPod.TryGetValue(podKey, out var list))
        {
            list.Remove(b);
            if (list.Count == 0) _byPod.Remove(podKey);
        }
        b.HealthGauge?.Remove();
        if (b.HandshakeCounters is not null) foreach (var c in b.HandshakeCounters) c.Remove();
    }

    private void Index(BackendEntry b)
    {
        foreach (var (_, target) in b.Service.Ports)
        {
            var key = (b.Ip, target);
            if (!_index.TryGetValue(key, out var list)) _index[key] = list = [];
            if (!list.Contains(b)) list.Add(b);
        }
    }

    private void Unindex(BackendEntry b)
    {
        foreach (var (_, target) in b.Service.Ports)
        {
            var key = (b.Ip, target);
            if (!_index.TryGetValue(key, out var list)) continue;
            list.Remove(b);
            if (list.Count == 0) _index.Remove(key);
        }
    }

    /// <summary>
    /// The backends a packet to ip:port reaches; learns a backend when the flow names a tracked service. Until cluster
    /// state describes services, a service named by a flow from outside the cluster (a client that is not a pod, as
    /// NodePort and LoadBalancer clients are) is learned too, with that port as its target port.
    /// </summary>
    private List<BackendEntry>? Resolve(IpAddr ip, int port, ServiceRef service, string podNamespace, string pod, string workload,
        string node, FlowEndpoint client)
    {
        if (_index.TryGetValue((ip, port), out var list)) return list;
        if (service.IsEmpty || pod.Length == 0) return null;
        var ns = string.IsNullOrEmpty(service.Namespace) ? podNamespace : service.Namespace;
        if (!_services.TryGetValue((ns, service.Name!), out var svc))
        {
            if (_clusterServices || client.IsPod || ReferenceEquals(client, FlowEndpoint.Empty)) return null;
            svc = GetOrAddService(ns, service.Name!);
            if (svc is null) return null;
            svc.Type = "service reached from outside the cluster";
            svc.LearnedFromFlows = true;
        }
        if (svc.LearnedFromFlows && !svc.HasTargetPort(port) && !client.IsPod && svc.Ports.Count < MaxLearnedPorts)
        {
            foreach (var other in svc.Backends.Values) Unindex(other);
            svc.Ports.Add((0, port));
            foreach (var other in svc.Backends.Values) Index(other);
            if (_index.TryGetValue((ip, port), out list)) return list;
        }
        if (!svc.HasTargetPort(port)) return null;
        if (svc.Backends.ContainsKey(pod)) return null; // same pod seen at another IP; cluster state will say which
        var b = AddBackend(svc, pod, ip, workload);
        if (b is null) return null;
        SetLearned(b, true);
        if (node.Length != 0) b.Node = node;
        return _index.TryGetValue((ip, port), out list) ? list : null;
    }

    // ---- samples --------------------------------------------------------------------------------

    private void OnHandshake(ClassifiedHandshake h)
    {
        List<Finding>? findings = null;
        lock (_gate)
        {
            if (h.DecidedAt > _now) _now = h.DecidedAt;
            var backends = Resolve(h.ServerIp, h.ServerPort, h.DestinationService, h.ServerNamespace, h.ServerPod, h.ServerWorkload, h.Node, h.Client);
            if (backends is null) return;
            foreach (var b in backends)
            {
                b.Counts.Add(h.DecidedAt, (int)h.Outcome);
                b.HandshakeCounters?[(int)h.Outcome].Inc();
                Touch(b, h.Node);
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
            var backends = Resolve(f.SourceIp, f.SourcePort, f.SourceService, f.Source.Namespace, f.Source.Pod, f.Source.Workload, f.NodeName, f.Destination);
            if (backends is null) return;
            foreach (var b in backends)
            {
                b.Counts.Add(at, BackendEntry.HttpSlot + cls - 2);
                if (l7.LatencyNanos > 0) b.Counts.Add(at, BackendEntry.LatencySlotFor(l7.LatencyNanos));
                Touch(b, f.NodeName);
                if (Evaluate(b) is { } finding) (findings ??= []).Add(finding);
            }
        }
        if (findings is not null) foreach (var x in findings) _tracker!.Report(x);
    }

    private void Touch(BackendEntry b, string node)
    {
        b.LastSeen = _now;
        if (b.AgeNode is { } n && n.List is { } list && n != list.Last)
        {
            list.Remove(n);
            list.AddLast(n);
        }
        if (b.Node.Length == 0 && node.Length != 0) b.Node = node;
    }

    // ---- health ---------------------------------------------------------------------------------

    private readonly record struct Health(string State, double Score, long Handshakes, long HandshakeFailures,
        long Http, long HttpFailures, double FailureRatio);

    private Health Compute(BackendEntry b)
    {
        b.Counts.AdvanceTo(_now);
        var c = b.Counts;
        var completed = c.Total((int)HandshakeOutcome.Completed);
        long hsFail = 0;
        for (var i = 0; i < HandshakeOutcomes.Count; i++)
            if (HandshakeOutcomes.IsFailure((HandshakeOutcome)i)) hsFail += c.Total(i);
        var hs = completed + hsFail;
        var http = c.Sum(BackendEntry.HttpSlot, BackendEntry.HttpSlot + 4);
        var httpFail = _options.Http5xxIsFailure ? c.Total(BackendEntry.HttpSlot + 3) : 0;
        var traffic = hs + http + c.Total((int)HandshakeOutcome.Incomplete);
        if (traffic == 0) return new Health("idle", -1, 0, 0, 0, 0, 0);

        double ratio = 0;
        var judged = false;
        if (hs >= _options.MinSamples) { ratio = Math.Max(ratio, (double)hsFail / hs); judged = true; }
        if (http >= _options.MinSamples) { ratio = Math.Max(ratio, (double)httpFail / http); judged = true; }
        if (!judged)
        {
            // Too few samples for a verdict by ratio: failures make it degraded at worst, never unhealthy.
            var anyFail = hsFail + httpFail > 0;
            return new Health(anyFail ? "degraded" : "healthy", anyFail ? 0.5 : 1, hs, hsFail, http, httpFail,
                (double)(hsFail + httpFail) / Math.Max(1, hs + http));
        }
        return ratio >= _options.UnhealthyRatio ? new Health("unhealthy", 0, hs, hsFail, http, httpFail, ratio)
            : ratio >= _options.DegradedRatio ? new Health("degraded", 0.5, hs, hsFail, http, httpFail, ratio)
            : new Health("healthy", 1, hs, hsFail, http, httpFail, ratio);
    }

    private Finding? Evaluate(BackendEntry b)
    {
        var health = Compute(b);
        b.HealthGauge?.Set(health.Score);
        if (health.State != "unhealthy") return null;

        var svc = b.Service;
        var healthySiblings = new List<string>();
        var healthyCount = 0;
        var siblings = 0;
        foreach (var other in svc.Backends.Values)
        {
            if (ReferenceEquals(other, b)) continue;
            siblings++;
            if (Compute(other).State != "healthy") continue;
            healthyCount++;
            if (healthySiblings.Count < 5) healthySiblings.Add(other.Pod);
        }
        var targetPort = FirstIndexedPort(b);
        var nodePort = svc.NodePortFor(targetPort);
        var c = b.Counts;
        var parts = new List<string>();
        void Part(HandshakeOutcome o, string text)
        {
            var n = c.Total((int)o);
            if (n > 0) parts.Add($"{n} of {health.Handshakes} handshakes {text}");
        }
        Part(HandshakeOutcome.Refused, "refused (RST)");
        Part(HandshakeOutcome.Dropped, "dropped");
        Part(HandshakeOutcome.Timeout, "timed out");
        Part(HandshakeOutcome.ReplyLost, "lost their reply");
        Part(HandshakeOutcome.IngressLost, "never reached the pod");
        if (health.HttpFailures > 0) parts.Add($"{health.HttpFailures} of {health.Http} HTTP responses 5xx");

        var where = nodePort > 0 ? $"behind node port {nodePort}"
            : svc.LearnedFromFlows ? "(a service reached from outside the cluster; its node port is unknown without cluster state)"
            : $"behind {svc.Type}";
        var siblingText = siblings == 0 ? "; it is the service's only backend"
            : healthyCount > 0 ? $", while {healthyCount} of its {siblings} siblings ({string.Join(", ", healthySiblings)}) are healthy, so connections that land on it fail and the rest succeed"
            : $"; none of its {siblings} siblings is healthy either (failing or idle), so look at the service as a whole";
        var readyText = b.Ready == true
            ? " Kubernetes reports the pod Ready, so its readiness probe does not see this."
            : b.Ready == false ? " The pod is not Ready." : "";
        var summary =
            $"{svc.Namespace}/{svc.Name} backend {b.Pod} ({b.Ip}:{targetPort}{(b.Node.Length != 0 ? " on " + b.Node : "")}) {where} is failing: " +
            $"{string.Join(", ", parts)} in the last {FormatSpan(_options.Window)}{siblingText}.{readyText} " +
            $"Check the pod's listener on port {targetPort}, its logs and its events.";

        var evidence = new Dictionary<string, long>
        {
            ["handshakes"] = health.Handshakes,
            ["handshake_failures"] = health.HandshakeFailures,
            ["http_responses"] = health.Http,
            ["http_5xx"] = health.HttpFailures,
            ["failure_pct"] = (long)Math.Round(health.FailureRatio * 100),
            ["siblings"] = siblings,
            ["healthy_siblings"] = healthyCount,
            ["ready_but_failing"] = b.Ready == true ? 1 : 0,
        };
        for (var i = 0; i < HandshakeOutcomes.Count; i++)
            if (c.Total(i) > 0) evidence[HandshakeOutcomes.AllNames[i]] = c.Total(i);

        return new Finding(
            Id: $"backend_unhealthy/{svc.Namespace}/{svc.Name}/{b.Pod}",
            Kind: FindingKind.BackendUnhealthy,
            Severity: healthyCount > 0 || siblings == 0 ? Severity.Critical : Severity.Warning,
            State: FindingState.Open,
            Subject: new FindingSubject(Namespace: svc.Namespace, Workload: b.Workload, Pod: b.Pod, Service: svc.Name,
                Ip: b.Ip.ToString(), Node: b.Node),
            Evidence: evidence,
            FirstSeen: default,
            LastSeen: _now,
            Summary: summary,
            Details: [$"window {FormatSpan(_options.Window)}: {Describe(c)}", $"target port {targetPort}, node port {nodePort}, service type {svc.Type}"]);
    }

    private static int FirstIndexedPort(BackendEntry b) => b.Service.Ports.Count > 0 ? b.Service.Ports[0].TargetPort : 0;

    /// <summary>Moves every backend's gauge with time (traffic that stops makes it idle) and forgets quiet learned backends.</summary>
    private void Refresh(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (now > _now) _now = now;
            List<BackendEntry>? expired = null;
            foreach (var svc in _services.Values)
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
                RemoveBackend(b);
                _backendsExpired++;
                _evictions?.WithLabels("expired").Inc();
                if (b.Service.LearnedFromFlows && b.Service.Backends.Count == 0)
                    _services.Remove((b.Service.Namespace, b.Service.Name));
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
                var list = new List<(string, string)>(_services.Count);
                foreach (var k in _services.Keys) list.Add((k.Ns, k.Name));
                list.Sort();
                return list;
            }
        }
    }

    public IReadOnlyList<BackendHealth>? DescribeService(string @namespace, string service)
    {
        lock (_gate)
        {
            if (!_services.TryGetValue((@namespace, service), out var svc)) return null;
            var list = new List<BackendHealth>(svc.Backends.Count);
            foreach (var b in svc.Backends.Values) list.Add(Describe(b));
            list.Sort((x, y) => string.CompareOrdinal(x.Pod, y.Pod));
            return list;
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
            if (!_byPod.TryGetValue((@namespace, pod), out var list)) return null;
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
        for (var i = 0; i < 4; i++) http[HttpClassNames[i]] = c.Total(BackendEntry.HttpSlot + i);
        var port = FirstIndexedPort(b);
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

    private static string Describe(RollingCounters c)
    {
        var parts = new List<string>();
        for (var i = 0; i < HandshakeOutcomes.Count; i++)
            if (c.Total(i) > 0) parts.Add($"{HandshakeOutcomes.AllNames[i]} {c.Total(i)}");
        for (var i = 0; i < 4; i++)
            if (c.Total(BackendEntry.HttpSlot + i) > 0) parts.Add($"http {HttpClassNames[i]} {c.Total(BackendEntry.HttpSlot + i)}");
        return parts.Count == 0 ? "no traffic" : string.Join(", ", parts);
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
        if (_attached) _classifier.Release();
        else if (_ownsClassifier) _classifier.Dispose();
        _attached = false;
    }
}
