using FlowWatch.Flows;
using FlowWatch.Pipeline;
using Prometheus;

namespace FlowWatch.Store;

/// <summary>The recent-flow store: a bounded ring of compact flows that the query API reads while the pipeline writes.</summary>
/// <remarks>
/// Flows live in blocks of <see cref="FlowBlock.Size"/> fixed-size entries, allocated as the ring first
/// fills and then overwritten oldest first (each overwritten flow is counted as evicted). Names are
/// interned once in bounded tables. A query walks the ring from the newest block back, skipping blocks
/// whose time span or key filter rules them out, and compares ints inside the rest. One lock guards the
/// ring, held by the writer for one entry and by a reader for at most one block, so a long query never
/// holds up the flow stream for more than a few microseconds at a time.
/// </remarks>
public sealed class FlowStore : IFlowSink
{
    private readonly object _gate = new();
    private readonly FlowBlock?[] _blocks;
    private readonly int _capacity;
    private readonly StringTable _strings;
    private readonly EndpointTable _endpoints;
    private readonly Dictionary<(string?, string?), int> _services = new();
    private readonly Gauge _flowsGauge;
    private readonly Counter _evictedCounter;
    private long _written;
    private long _evicted;

    public FlowStore(FlowStoreOptions options, IMetricFactory metrics)
    {
        options.Validate();
        _capacity = options.Capacity;
        _blocks = new FlowBlock?[_capacity / FlowBlock.Size];
        _strings = new StringTable(options.MaxStrings);
        _endpoints = new EndpointTable(_strings, options.MaxEndpoints);
        _flowsGauge = metrics.CreateGauge("flowwatch_store_flows", "Flows held in the recent-flow store.");
        _evictedCounter = metrics.CreateCounter("flowwatch_store_evicted_total", "Flows the recent-flow store let go (oldest first) to stay within its bounds.");
    }

    /// <summary>Most flows the store keeps (the smaller of its count and memory bounds, in whole blocks).</summary>
    public int Capacity => _capacity;

    public long Count { get { lock (_gate) return Math.Min(_written, _capacity); } }
    public long Evicted { get { lock (_gate) return _evicted; } }
    public long Written { get { lock (_gate) return _written; } }

    /// <summary>Names and endpoints that did not fit their tables and were stored as "(overflow)" / empty.</summary>
    public long NamesOverflowed { get { lock (_gate) return _strings.Overflowed + _endpoints.Overflowed; } }

    public void Add(FlowRecord flow)
    {
        bool evicted;
        long count;
        lock (_gate)
        {
            var seq = _written;
            var pos = (int)(seq % _capacity);
            var block = _blocks[pos / FlowBlock.Size] ??= new FlowBlock();
            var offset = pos % FlowBlock.Size;
            if (offset == 0) block.Reset(seq);
            ref var e = ref block.Entries[offset];
            Fill(ref e, flow);
            Index(block, ref e);
            _written = seq + 1;
            evicted = seq >= _capacity;
            if (evicted) _evicted++;
            count = Math.Min(_written, _capacity);
        }
        if (evicted) _evictedCounter.Inc();
        else _flowsGauge.Set(count);
    }

    private void Fill(ref CompactFlow e, FlowRecord f)
    {
        e.TimeNanos = f.TimeNanos;
        e.SourceIp = f.SourceIp;
        e.DestinationIp = f.DestinationIp;
        e.SourceEndpoint = _endpoints.Intern(f.Source);
        e.DestinationEndpoint = _endpoints.Intern(f.Destination);
        e.Node = _strings.Intern(f.NodeName);
        e.SourceService = Service(f.SourceService);
        e.DestinationService = Service(f.DestinationService);
        e.SourcePort = f.SourcePort;
        e.DestinationPort = f.DestinationPort;
        e.DropReason = (ushort)Math.Clamp(f.DropReason, 0, ushort.MaxValue);
        e.TcpFlags = f.TcpFlags;
        e.Verdict = f.Verdict;
        e.Protocol = f.Protocol;
        e.Kind = f.Kind;
        e.Reply = f.Reply;
        e.Direction = f.Direction;
        e.ObservationPoint = f.ObservationPoint;
        e.IcmpType = f.IcmpType;
        e.IcmpCode = f.IcmpCode;
        e.EventType = f.EventType;
        e.L7Name = e.L7Detail = 0;
        e.L7Code = 0;
        e.L7 = 0;
        if (f.L7 is { } l7)
        {
            var protocol = L7Protocol.Other;
            if (l7.Dns is { } dns)
            {
                protocol = L7Protocol.Dns;
                e.L7Name = _strings.Intern(dns.Query);
                e.L7Detail = _strings.Intern(dns.QType);
                e.L7Code = (ushort)Math.Clamp(dns.Rcode, 0, ushort.MaxValue);
            }
            else if (l7.Http is { } http)
            {
                protocol = L7Protocol.Http;
                e.L7Name = _strings.Intern(http.Url);
                e.L7Detail = _strings.Intern(http.Method);
                e.L7Code = (ushort)Math.Clamp(http.Code, 0, ushort.MaxValue);
            }
            e.L7 = (byte)((byte)protocol << 4 | ((byte)l7.Kind & 0xF));
        }
    }

    private int Service(ServiceRef service)
    {
        if (service.IsEmpty) return StringTable.Empty;
        if (_services.TryGetValue((service.Namespace, service.Name), out var id)) return id;
        id = _strings.Intern(service.ToString());
        if (id != StringTable.Overflow) _services[(service.Namespace, service.Name)] = id;
        return id;
    }

    private void Index(FlowBlock block, ref CompactFlow e)
    {
        block.NoteTime(e.TimeNanos);
        var src = _endpoints[e.SourceEndpoint];
        var dst = _endpoints[e.DestinationEndpoint];
        block.AddKey(BlockKeys.Namespace(src.Namespace));
        block.AddKey(BlockKeys.Pod(src.Pod));
        block.AddKey(BlockKeys.Workload(src.Workload));
        block.AddKey(BlockKeys.Namespace(dst.Namespace));
        block.AddKey(BlockKeys.Pod(dst.Pod));
        block.AddKey(BlockKeys.Workload(dst.Workload));
        block.AddKey(BlockKeys.Node(e.Node));
        block.AddKey(BlockKeys.Verdict((int)e.Verdict));
        block.AddKey(BlockKeys.Reason(e.DropReason));
        block.AddKey(BlockKeys.Port(e.SourcePort));
        block.AddKey(BlockKeys.Port(e.DestinationPort));
        block.AddKey(BlockKeys.Ip(e.SourceIp));
        block.AddKey(BlockKeys.Ip(e.DestinationIp));
    }

    /// <summary>Whether any stored flow has this pod on either side.</summary>
    public bool KnowsPod(string @namespace, string pod)
    {
        lock (_gate)
        {
            var ns = _strings.Find(@namespace);
            var p = _strings.Find(pod);
            if (ns <= 0 || p <= 0) return false;
            for (var i = 1; i < _endpoints.Count; i++)
            {
                var e = _endpoints[i];
                if (e.Pod == p && e.Namespace == ns) return true;
            }
            return false;
        }
    }

    /// <summary>Runs a query: newest first (or oldest first after <see cref="FlowQuery.After"/>), at most <see cref="FlowQuery.Limit"/> flows.</summary>
    public FlowPage Query(FlowQuery query)
    {
        var limit = Math.Clamp(query.Limit, 1, FlowQuery.MaxLimit);
        var results = new List<StoredFlow>(Math.Min(limit, 256));
        Matcher matcher;
        long head;
        lock (_gate)
        {
            head = _written;
            matcher = Matcher.Resolve(query, _strings);
        }
        var latest = head - 1;
        if (matcher.MatchesNothing || head == 0) return new FlowPage(results, null, latest, 0);
        long scanned = 0;
        if (query.After is { } after)
        {
            var s = Math.Max(after + 1, 0);
            while (s < head && results.Count < limit)
            {
                lock (_gate)
                {
                    s = Math.Max(s, _written - _capacity);
                    var blockStart = s - s % FlowBlock.Size;
                    var end = Math.Min(head, blockStart + FlowBlock.Size);
                    var block = BlockOf(s);
                    if (matcher.MayMatch(block))
                        for (var i = s; i < end && results.Count < limit; i++, scanned++)
                            TryTake(block, i, matcher, results);
                    s = end;
                }
            }
            return new FlowPage(results, null, latest, scanned);
        }
        var top = Math.Min(query.Before ?? head, head) - 1;
        long oldest = 0, s2 = top;
        while (s2 >= 0 && results.Count < limit)
        {
            lock (_gate)
            {
                oldest = Math.Max(0, _written - _capacity);
                if (s2 < oldest) break;
                var blockStart = Math.Max(oldest, s2 - s2 % FlowBlock.Size);
                var block = BlockOf(s2);
                if (matcher.MayMatch(block))
                    for (var i = s2; i >= blockStart && results.Count < limit; i--, scanned++)
                        TryTake(block, i, matcher, results);
                s2 = blockStart - 1;
            }
        }
        long? next = results.Count == limit && results[^1].Seq > oldest ? results[^1].Seq : null;
        return new FlowPage(results, next, latest, scanned);
    }

    private FlowBlock BlockOf(long seq) => _blocks[(int)(seq % _capacity) / FlowBlock.Size]!;

    private void TryTake(FlowBlock block, long seq, Matcher matcher, List<StoredFlow> results)
    {
        ref readonly var e = ref block.Entries[(int)(seq % FlowBlock.Size)];
        if (matcher.Matches(in e, _endpoints)) results.Add(Materialize(seq, in e));
    }

    private StoredFlow Materialize(long seq, in CompactFlow e) => new(
        seq, e.TimeNanos, _strings[e.Node], e.Verdict, e.DropReason, e.Protocol, e.Kind,
        Side(e.SourceEndpoint, e.SourceIp, e.SourcePort, e.SourceService),
        Side(e.DestinationEndpoint, e.DestinationIp, e.DestinationPort, e.DestinationService),
        e.TcpFlags, e.IcmpType, e.IcmpCode, e.Reply, e.Direction, e.ObservationPoint, e.EventType,
        (L7Protocol)(e.L7 >> 4), (L7Kind)(e.L7 & 0xF), _strings[e.L7Name], _strings[e.L7Detail], e.L7Code);

    private StoredEndpoint Side(int endpoint, IpAddr ip, ushort port, int service)
    {
        var en = _endpoints[endpoint];
        return new StoredEndpoint(en.Identity, _strings[en.Namespace], _strings[en.Pod], _strings[en.Workload],
            _strings[en.WorkloadKind], ip, port, _strings[service]);
    }
}
