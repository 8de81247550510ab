using System.Reactive.Linq;
using System.Reactive.Subjects;
using FlowWatch.Flows;
using Prometheus;

namespace FlowWatch.Detectors.Handshakes;

/// <summary>Follows TCP handshakes to pods through the flows and classifies each one exactly once.</summary>
/// <remarks>
/// <para>
/// One instance is shared by the detectors that need handshakes (asymmetric paths, backend health):
/// each calls <see cref="Attach"/> with the pipeline's context and subscribes to the same stream, so the
/// table is kept once and each handshake is counted once in <c>flowwatch_tcp_handshakes_total</c>.
/// A detector given no classifier builds a private one.
/// </para>
/// <para>
/// Only a client's SYN (no ACK) to a pod opens an entry; that fixes the orientation, and every later
/// packet is placed by looking its 5-tuple up both ways. <c>is_reply</c> only breaks the tie when both
/// orientations are open (simultaneous open). Hubble reports one packet at several observation points
/// (FROM_NETWORK, TO_ENDPOINT, TO_STACK, REDIRECTED, on two nodes...): observations of a SYN or SYN-ACK
/// within <see cref="HandshakeClassifierOptions.DuplicateWindow"/> at points not yet seen for it are the same
/// packet; a later one, or one at a point already seen, is a retransmission.
/// </para>
/// <para>
/// Completed and refused are decided on the packet that proves them, dropped on a dropped SYN or SYN-ACK;
/// the rest at the timeout, by a sweep on the event-time scheduler. Decided handshakes stay in the table
/// for a linger period so duplicates and SYN retries do not open new ones. The table is bounded; open
/// entries sit in one FIFO by start time and decided ones in another by decision time, so sweeping and
/// evicting the oldest are O(1) each.
/// </para>
/// </remarks>
public sealed class HandshakeClassifier : IDisposable
{
    private readonly HandshakeClassifierOptions _options;
    private readonly Dictionary<HandshakeKey, HandshakeEntry> _table;
    private readonly HandshakeEntryList _pending = new();
    private readonly HandshakeEntryList _closed = new();
    private readonly Stack<HandshakeEntry> _free = new();
    private readonly Subject<ClassifiedHandshake> _out = new();
    private readonly Dictionary<(string Ns, string Workload), Counter.Child[]> _counterChildren = new();
    private readonly long _dupNanos, _timeoutNanos, _completedLingerNanos, _failedLingerNanos;
    private DetectorContext? _context;
    private IDisposable? _flowSubscription, _sweep;
    private Counter? _handshakes, _evictions;
    private long _evictedPending, _evictedClosed;
    private bool _disposed;
    private int _users;

    public HandshakeClassifier(HandshakeClassifierOptions? options = null)
    {
        _options = options ?? new HandshakeClassifierOptions();
        _options.Validate();
        _table = new Dictionary<HandshakeKey, HandshakeEntry>(Math.Min(_options.Capacity, 4096));
        _dupNanos = _options.DuplicateWindow.Ticks * 100;
        _timeoutNanos = _options.HandshakeTimeout.Ticks * 100;
        _completedLingerNanos = _options.CompletedLinger.Ticks * 100;
        _failedLingerNanos = _options.FailedLinger.Ticks * 100;
    }

    public HandshakeClassifierOptions Options => _options;

    /// <summary>Classified handshakes, on the pipeline thread.</summary>
    public IObservable<ClassifiedHandshake> Handshakes => _out;

    /// <summary>Entries in the table (open and remembered).</summary>
    public int TableCount => _table.Count;

    public int OpenCount => _pending.Count;

    /// <summary>Open handshakes evicted unclassified because the table was full.</summary>
    public long EvictedOpen => Interlocked.Read(ref _evictedPending);

    /// <summary>Remembered (already classified) handshakes forgotten early because the table was full.</summary>
    public long EvictedClosed => Interlocked.Read(ref _evictedClosed);

    /// <summary>Subscribes to the context's flows once; later calls with the same context share the stream.</summary>
    public IObservable<ClassifiedHandshake> Attach(DetectorContext context)
    {
        if (_context is not null)
        {
            if (!ReferenceEquals(_context.Root, context.Root))
                throw new InvalidOperationException("A HandshakeClassifier can serve only one pipeline.");
            _users++;
            return _out;
        }
        _context = context;
        _users = 1;
        _handshakes = context.Metrics.CreateCounter("flowwatch_tcp_handshakes_total",
            "TCP handshakes to pods by outcome (completed, reply_lost, ingress_lost, refused, dropped, timeout, incomplete).",
            new CounterConfiguration { LabelNames = ["namespace", "workload", "outcome"] });
        _evictions = context.Metrics.CreateCounter("flowwatch_tcp_handshake_evictions_total",
            "Handshake table entries evicted because the table was full (reason open: never classified; closed: forgotten early).",
            new CounterConfiguration { LabelNames = ["reason"] });
        _evictions.WithLabels("open");
        _evictions.WithLabels("closed");
        _flowSubscription = context.Flows.Subscribe(Observe);
        _sweep = Observable.Interval(_options.SweepEvery, context.Scheduler).Subscribe(_ => Sweep());
        return _out;
    }

    private long NowNanos => _context is null ? 0 : FlowRecord.ToNanos(_context.Scheduler.Now);

    /// <summary>Feeds one flow; non-TCP, L7, flag-less flows and policy verdicts that forwarded are ignored.</summary>
    public void Observe(FlowRecord f)
    {
        if (f.Protocol != L4Protocol.Tcp || f.Kind is FlowKind.L7 or FlowKind.Sock) return;
        // A policy verdict is reported once per new connection beside the packet's trace; only its drops say
        // anything the traces do not (a recording of verdicts alone would otherwise be all timeouts).
        if (f.EventType == CiliumEventTypes.PolicyVerdict && f.Verdict != Verdict.Dropped) return;
        var flags = f.TcpFlags;
        if (flags == TcpFlags.None) return;

        var forward = new HandshakeKey(f.SourceIp, f.DestinationIp, f.SourcePort, f.DestinationPort);
        var reverse = new HandshakeKey(f.DestinationIp, f.SourceIp, f.DestinationPort, f.SourcePort);
        var hasForward = _table.TryGetValue(forward, out var fe);
        var hasReverse = _table.TryGetValue(reverse, out var re);
        HandshakeEntry? entry;
        bool fromClient;
        if (hasForward && hasReverse)
        {
            fromClient = f.Reply switch
            {
                ReplyState.Reply => false,
                ReplyState.Request => true,
                _ => (flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn,
            };
            entry = fromClient ? fe : re;
        }
        else if (hasForward) { entry = fe; fromClient = true; }
        else if (hasReverse) { entry = re; fromClient = false; }
        else
        {
            // Only a client's opening SYN to a pod starts tracking; mid-stream packets have nothing to classify.
            if ((flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst)) != TcpFlags.Syn || f.Reply == ReplyState.Reply) return;
            if (!f.Destination.IsPod) return;
            entry = Open(forward, f.TimeNanos);
            fromClient = true;
        }

        if (entry!.Closed) return;
        if (fromClient) FromClient(entry, f, flags);
        else FromServer(entry, f, flags);
    }

    private void FromClient(HandshakeEntry e, FlowRecord f, TcpFlags flags)
    {
        if (f.Destination.IsPod && !e.Server.IsPod) e.Server = f.Destination;
        if (ReferenceEquals(e.Client, FlowEndpoint.Empty) && !ReferenceEquals(f.Source, FlowEndpoint.Empty)) e.Client = f.Source;
        if (e.Service.IsEmpty && !f.DestinationService.IsEmpty) e.Service = f.DestinationService;

        if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn)
        {
            if (IsNewTransmission(ref e.SynTxStartNanos, ref e.SynPoints, f))
            {
                e.SynTx++;
                if (e.SynAcks > 0) e.SynAfterSynAck = true;
            }
            if (f.ObservationPoint == ObservationPoint.ToEndpoint && f.Verdict != Verdict.Dropped)
            {
                e.SynReachedPod = true;
                e.Node = f.NodeName;
            }
            else if (e.Node.Length == 0) e.Node = f.NodeName;
            if (f.ObservationPoint == ObservationPoint.FromNetwork) e.SynFromNetwork = true;
            if (f.Verdict == Verdict.Dropped) Decide(e, HandshakeOutcome.Dropped, f.TimeNanos, f.DropReason);
            return;
        }
        if ((flags & TcpFlags.Rst) != 0) return; // the client giving up proves nothing about the path back
        if (f.Verdict == Verdict.Dropped) { MarkDropped(e, f); return; }
        // An ACK or data from the client means the SYN-ACK reached it.
        Decide(e, HandshakeOutcome.Completed, f.TimeNanos, 0);
    }

    private void FromServer(HandshakeEntry e, FlowRecord f, TcpFlags flags)
    {
        if (f.Source.IsPod && !e.Server.IsPod) e.Server = f.Source;
        if (e.Service.IsEmpty && !f.SourceService.IsEmpty) e.Service = f.SourceService;

        if ((flags & TcpFlags.Rst) != 0)
        {
            if (f.Verdict == Verdict.Dropped) { MarkDropped(e, f); return; }
            Decide(e, HandshakeOutcome.Refused, f.TimeNanos, 0);
            return;
        }
        if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack))
        {
            if (IsNewTransmission(ref e.SynAckTxStartNanos, ref e.SynAckPoints, f)) e.SynAcks++;
            if (f.Verdict == Verdict.Dropped) Decide(e, HandshakeOutcome.Dropped, f.TimeNanos, f.DropReason);
            return;
        }
        if (f.Verdict == Verdict.Dropped) { MarkDropped(e, f); return; }
        // Data (or a bare ACK) from the pod only flows on an established connection.
        if (e.SynAcks > 0) Decide(e, HandshakeOutcome.Completed, f.TimeNanos, 0);
    }

    private static void MarkDropped(HandshakeEntry e, FlowRecord f)
    {
        e.Dropped = true;
        if (f.DropReason != 0) e.DropReason = f.DropReason;
    }

    private bool IsNewTransmission(ref long txStart, ref uint points, FlowRecord f)
    {
        var bit = PointBit(f);
        if (txStart != 0 && f.TimeNanos - txStart < _dupNanos && (points & bit) == 0)
        {
            points |= bit;
            return false;
        }
        txStart = f.TimeNanos;
        points = bit;
        return true;
    }

    private static uint PointBit(FlowRecord f) => f.ObservationPoint switch
    {
        ObservationPoint.ToEndpoint => 1u << 12,
        ObservationPoint.Unknown when f.Verdict == Verdict.Redirected => 1u << 13,
        ObservationPoint.Unknown when f.Verdict == Verdict.Dropped => 1u << 14,
        var p when (int)p < 12 => 1u << (int)p,
        _ => 1u << 15,
    };

    private HandshakeEntry Open(HandshakeKey key, long timeNanos)
    {
        if (_table.Count >= _options.Capacity) EvictOldest();
        var e = _free.Count > 0 ? _free.Pop() : new HandshakeEntry();
        e.Reset(key);
        e.FirstSynNanos = timeNanos;
        e.DeadlineNanos = timeNanos + _timeoutNanos;
        _table[key] = e;
        _pending.Append(e);
        return e;
    }

    private void EvictOldest()
    {
        // Forget a remembered handshake before dropping one still open.
        if (_closed.Head is { } oldClosed)
        {
            Forget(oldClosed, _closed);
            Interlocked.Increment(ref _evictedClosed);
            _evictions?.WithLabels("closed").Inc();
        }
        else if (_pending.Head is { } oldOpen)
        {
            Forget(oldOpen, _pending);
            Interlocked.Increment(ref _evictedPending);
            _evictions?.WithLabels("open").Inc();
        }
    }

    private void Forget(HandshakeEntry e, HandshakeEntryList list)
    {
        list.Remove(e);
        _table.Remove(e.Key);
        e.Server = e.Client = FlowEndpoint.Empty;
        if (_free.Count < 1024) _free.Push(e);
    }

    /// <summary>Decides every open handshake past its timeout and forgets remembered ones past their linger.</summary>
    public void Sweep() => SweepAt(NowNanos);

    internal void SweepAt(long nowNanos)
    {
        while (_pending.Head is { } e && e.DeadlineNanos <= nowNanos)
        {
            var outcome = e.Dropped ? HandshakeOutcome.Dropped
                : e.SynAcks == 0 && e.SynFromNetwork && !e.SynReachedPod && e.SynTx > 1 ? HandshakeOutcome.IngressLost
                : e.SynAcks == 0 ? HandshakeOutcome.Timeout
                : e.SynAfterSynAck ? HandshakeOutcome.ReplyLost
                : HandshakeOutcome.Incomplete;
            Decide(e, outcome, e.DeadlineNanos, e.DropReason);
        }
        while (_closed.Head is { } c && c.DeadlineNanos <= nowNanos) Forget(c, _closed);
    }

    private void Decide(HandshakeEntry e, HandshakeOutcome outcome, long atNanos, int dropReason)
    {
        _pending.Remove(e);
        e.Closed = true;
        var linger = outcome == HandshakeOutcome.Completed ? _completedLingerNanos : _failedLingerNanos;
        e.DeadlineNanos = Math.Max(atNanos, NowNanos) + linger;
        _closed.Append(e);

        var server = e.Server;
        var result = new ClassifiedHandshake(
            Started: ToTime(e.FirstSynNanos),
            DecidedAt: ToTime(atNanos),
            ServerNamespace: server.Namespace,
            ServerPod: server.Pod,
            ServerWorkload: server.Workload.Length != 0 ? server.Workload : Workloads.FromPodName(server.Pod),
            ServerIp: e.Key.ServerIp,
            ServerPort: e.Key.ServerPort,
            ClientIp: e.Key.ClientIp,
            ClientPort: e.Key.ClientPort,
            Client: e.Client,
            Outcome: outcome,
            DropReason: outcome == HandshakeOutcome.Dropped ? dropReason : 0,
            Rtt: outcome == HandshakeOutcome.Completed ? TimeSpan.FromTicks(Math.Max(0, atNanos - e.FirstSynNanos) / 100) : null,
            SynTransmissions: Math.Max(1, e.SynTx),
            SynAcks: e.SynAcks,
            SynReachedPod: e.SynReachedPod,
            DestinationService: e.Service,
            Node: e.Node);
        Count(result);
        _out.OnNext(result);
    }

    private void Count(ClassifiedHandshake h)
    {
        if (_handshakes is null) return;
        var key = (h.ServerNamespace, h.ServerWorkload);
        if (!_counterChildren.TryGetValue(key, out var children))
        {
            // Bounded by the workloads in the cluster; the cap guards against a pathological stream.
            if (_counterChildren.Count >= 50_000) _counterChildren.Clear();
            children = new Counter.Child[HandshakeOutcomes.Count];
            for (var i = 0; i < children.Length; i++)
                children[i] = _handshakes.WithLabels(h.ServerNamespace, h.ServerWorkload, HandshakeOutcomes.AllNames[i]);
            _counterChildren[key] = children;
        }
        children[(int)h.Outcome].Inc();
    }

    private static DateTimeOffset ToTime(long nanos) => DateTimeOffset.UnixEpoch.AddTicks(nanos / 100);

    /// <summary>A detector that attached is done with the classifier; the last one to leave disposes it.</summary>
    public void Release()
    {
        if (--_users <= 0) Dispose();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _flowSubscription?.Dispose();
        _sweep?.Dispose();
        _out.OnCompleted();
        _out.Dispose();
    }
}
