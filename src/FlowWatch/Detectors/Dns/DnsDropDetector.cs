using System.Reactive.Concurrency;
using System.Reactive.Linq;
using FlowWatch.Findings;
using FlowWatch.Flows;

namespace FlowWatch.Detectors.Dns;

/// <summary>Finds workloads whose DNS lookups are denied by policy, dropped in the datapath or never answered.</summary>
/// <remarks>
/// Per flow (pipeline thread, no locks but the pod report's): L7 DNS records from Cilium's proxy and
/// datapath drops of port-53 packets are counted per client workload. Forwarded requests wait in a
/// bounded table for their answer (client, source port, query and type: <see cref="DnsKey"/>; oldest first); a periodic tick on the event-time
/// scheduler expires the unanswered ones as <c>no_answer</c>, then reports every workload whose episode
/// has reached <see cref="DnsDropOptions.MinDrops"/> to a <see cref="FindingTracker"/>, which resolves
/// the finding once no drop has come for the quiet period. A denied request and the proxy's REFUSED
/// answer to it are paired (in either order) so the denial counts once.
/// </remarks>
public sealed class DnsDropDetector : IDetector, IPodInsight
{
    private readonly DnsDropOptions _options;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly DnsWorkloadTable _workloads;
    private readonly DnsPendingTable<FlowEndpoint> _pending;
    // A denial shows as a DROPPED request and the proxy's REFUSED answer; whichever comes first is counted
    // and waits here for its partner, which is then not counted again.
    private readonly DnsPendingTable<bool> _deniedRequests;
    private readonly DnsPendingTable<bool> _refusals;
    private readonly DnsPodStats _pods;
    private readonly DatapathDnsMatcher _datapath;
    private long _datapathEvicted;
    private readonly Action<DnsKey, FlowEndpoint> _onNoAnswer;
    private IScheduler _scheduler = Scheduler.Default;
    private DnsMetrics? _metrics;
    private FindingTracker? _tracker;

    public DnsDropDetector(DnsDropOptions? options = null)
    {
        _options = (options ?? new DnsDropOptions()).Validate();
        _pending = new DnsPendingTable<FlowEndpoint>(_options.MaxPendingRequests);
        var pairCapacity = Math.Max(1, _options.MaxPendingRequests / 4);
        _deniedRequests = new DnsPendingTable<bool>(pairCapacity);
        _refusals = new DnsPendingTable<bool>(pairCapacity);
        _pods = new DnsPodStats(_options.PodWindow, _options.MaxTrackedPods);
        _onNoAnswer = OnNoAnswer;
        _workloads = new DnsWorkloadTable(_options.MaxTrackedWorkloads, () => _metrics!.WorkloadsEvicted.Inc());
        _datapath = new DatapathDnsMatcher(_options.MaxPendingRequests);
    }

    public string Name => "dns";

    /// <summary>Reads each flow in its observer and keeps only values (interned names, numbers), never the record.</summary>
    public bool KeepsRecords => false;

    public string Section => "dns";

    public DnsDropOptions Options => _options;

    /// <summary>Requests still waiting for an answer.</summary>
    public int PendingRequests => _pending.Unmatched;

    // Both tables wait for answers: the proxy's requests and the datapath's port-53 tuples.
    private void SetPending() => _metrics!.Pending.Set(_pending.Unmatched + _datapath.Count);

    /// <summary>Workloads with state held now (bounded by <see cref="DnsDropOptions.MaxTrackedWorkloads"/>).</summary>
    public int TrackedWorkloads => _workloads.Count;

    /// <summary>Pods with a recent-counts window (bounded by <see cref="DnsDropOptions.MaxTrackedPods"/>).</summary>
    public int TrackedPods => _pods.Count;

    /// <summary>Queued request records (answered ones stay queued until their timeout passes).</summary>
    internal int QueuedRequests => _pending.Queued;

    public long EvictedPending => _pending.Evicted;
    public long EvictedWorkloads => _workloads.Evicted;
    public long EvictedPods => _pods.Evicted;

    public IObservable<Finding> Attach(DetectorContext context)
    {
        if (_tracker is not null) throw new InvalidOperationException("DnsDropDetector is already attached");
        _scheduler = context.Scheduler;
        _metrics = new DnsMetrics(context.Metrics, _options.MaxWorkloadLabels);
        _metrics.Pending.Set(0);
        _tracker = new FindingTracker(context.Scheduler, _options.QuietPeriod, _options.MaxOpenFindings);
        _subscriptions.Add(_tracker.Findings.Where(f => f.State == FindingState.Resolved).Subscribe(OnResolved));
        _subscriptions.Add(context.Flows.Subscribe(OnFlow));
        _subscriptions.Add(Observable.Interval(_options.EvaluateEvery, context.Scheduler).Subscribe(_ => Tick()));
        return _tracker.Findings;
    }

    private void OnFlow(FlowRecord flow)
    {
        if (flow.L7 is { Dns: { } dns } l7)
        {
            if (l7.Kind == L7Kind.Request) OnRequest(flow, dns);
            else if (l7.Kind == L7Kind.Response) OnResponse(flow, dns);
            return;
        }
        if (_datapath.Observe(flow, _scheduler.Now.UtcTicks))
        {
            CountLookupIfRequest(flow);
            if (_datapath.Evicted != _datapathEvicted)
            {
                _metrics!.DatapathEvicted.Inc(_datapath.Evicted - _datapathEvicted);
                _datapathEvicted = _datapath.Evicted;
            }
            SetPending();
            return;
        }
        // Only drop notifications (or field-masked exports without an event type): a policy-verdict event
        // for the same packet would count it twice.
        if (flow.Verdict == Verdict.Dropped && flow.DestinationPort == 53 && flow.Kind != FlowKind.L7 &&
            flow.Protocol is L4Protocol.Udp or L4Protocol.Tcp &&
            flow.EventType is CiliumEventTypes.Drop or 0 && !flow.IsReply)
        {
            var reason = DnsDropReason.ForDatapath(flow.DropReason);
            var state = CountDrop(flow.Source, reason, "", flow.NodeName);
            state?.AddDatapathReason(flow.DropReasonName);
        }
    }

    private void OnRequest(FlowRecord flow, DnsRecord dns)
    {
        var now = _scheduler.Now.UtcTicks;
        var client = flow.Source;
        var key = DnsKey.OfRequest(flow, dns);
        _pods.CountRequest(client, now);
        if (flow.Verdict == Verdict.Dropped)
        {
            if (!_refusals.TryMatch(key))
            {
                CountDrop(client, DnsDropReason.PolicyDeniedProxy, dns.Query, flow.NodeName);
                _deniedRequests.Add(key, now, true);
            }
            return;
        }
        CountLookup(client);
        if (_pending.Add(key, now, client)) _metrics!.PendingEvicted.Inc();
        SetPending();
    }

    private void OnResponse(FlowRecord flow, DnsRecord dns)
    {
        var now = _scheduler.Now.UtcTicks;
        var client = flow.Destination;
        var key = DnsKey.OfAnswer(flow, dns);
        var slot = DnsRcodes.Slot(dns.Rcode);
        _metrics!.CountAnswer(WorkloadKey.Of(client), slot);
        _pods.CountAnswer(client, now, slot);
        if (dns.Rcode == DnsRcodes.Refused)
        {
            if (_deniedRequests.TryMatch(key)) return;
            // A REFUSED that answers a forwarded request came from the upstream server, not from policy.
            if (_pending.TryMatch(key)) { SetPending(); return; }
            CountDrop(client, DnsDropReason.PolicyDeniedProxy, dns.Query, flow.NodeName);
            _refusals.Add(key, now, true);
            return;
        }
        if (_pending.TryMatch(key)) SetPending();
    }

    private void CountLookupIfRequest(FlowRecord flow)
    {
        if (flow.DestinationPort == 53 && !flow.IsReply) CountLookup(flow.Source);
    }

    private void OnDatapathNoAnswer(FlowEndpoint client, string node, int unanswered, bool retried)
    {
        for (var i = 0; i < unanswered; i++)
        {
            var s = CountDrop(client, DnsDropReason.NoAnswer, "", node);
            if (s is null) continue;
            s.NoAnswerDatapath++;
            if (retried) s.NoAnswerRetried++;
        }
    }

    private void OnNoAnswer(DnsKey key, FlowEndpoint client) => CountDrop(client, DnsDropReason.NoAnswer, key.Query, "");

    private void CountLookup(FlowEndpoint client)
    {
        if (_workloads.TryPeek(WorkloadKey.Of(client), out var s) && s.Active) s.Lookups++;
    }

    private DnsWorkloadState? CountDrop(FlowEndpoint client, int reason, string query, string node)
    {
        var now = _scheduler.Now.UtcTicks;
        var key = WorkloadKey.Of(client);
        _metrics!.CountDrop(key, reason);
        if (_pods.CountDrop(client, now, reason)) _metrics.PodsEvicted.Inc();
        var s = _workloads.Touch(key, now);
        if (!s.Active || now - s.LastDropTicks > _options.QuietPeriod.Ticks) s.StartEpisode(now);
        s.LastDropTicks = now;
        s.Drops[reason]++;
        // A datapath drop and a proxy denial are lookups the request counter never saw forwarded.
        if (reason != DnsDropReason.NoAnswer) s.Lookups++;
        s.AddName(query, _options.MaxNamesPerWorkload);
        s.AddPod(client.Display);
        s.AddNode(node);
        _workloads.MarkDirty(s);
        return s;
    }

    /// <summary>Expires timeouts, reports workloads with new drops, forgets quiet state. Runs on the scheduler.</summary>
    internal void Tick()
    {
        var now = _scheduler.Now.UtcTicks;
        _pending.Expire(now - _options.NoAnswerTimeout.Ticks, _onNoAnswer);
        _datapath.Expire(now - _options.NoAnswerTimeout.Ticks, OnDatapathNoAnswer);
        _deniedRequests.Expire(now - _options.NoAnswerTimeout.Ticks, null);
        _refusals.Expire(now - _options.NoAnswerTimeout.Ticks, null);
        SetPending();

        _workloads.DrainDirty(s =>
        {
            if (s.TotalDrops >= _options.MinDrops) _tracker!.Report(DnsFindingText.Build(s, _options, _scheduler.Now));
        });

        // Keep a workload while its finding may still be open, so its resolution can end the episode.
        var idleCutoff = now - 2 * _options.QuietPeriod.Ticks;
        _workloads.ExpireIdle(idleCutoff);
        _pods.Expire(now);
    }

    private void OnResolved(Finding finding)
    {
        var key = new WorkloadKey(finding.Subject.Namespace, finding.Subject.Workload);
        if (_workloads.TryPeek(key, out var s)) s.EndEpisode();
    }

    public object? DescribePod(string @namespace, string pod) => _pods.Describe(@namespace, pod);

    public bool KnowsPod(string @namespace, string pod) => _pods.Knows(@namespace, pod);

    public void Dispose()
    {
        foreach (var s in _subscriptions) s.Dispose();
        _subscriptions.Clear();
        _tracker?.Dispose();
    }
}
