using FlowWatch.Flows;
using FlowWatch.Pipeline;
using Prometheus;

namespace FlowWatch.Store;

/// <summary>The recent-flow store: a bounded ring of compact flows that the query API reads while the pipeline writes.</summary>
/// <remarks>
/// Flows live in blocks of <see cref="FlowBlock.Size"/> fixed-size entries, allocated as the ring first
/// fills and then overwritten oldest first (each overwritten flow is counted as evicted). Names are
/// interned once in bounded tables. A query walks the ring from the newest block back, skipping blocks
/// whose time span or key filter rules them out, and compares ints inside the rest.
/// <para>
/// One writer (the pipeline thread) and any number of readers, without locks, seqlock style: the writer
/// fills an entry and then publishes the new count; a reader copies entries, then re-reads the count and
/// keeps only copies the writer cannot have been overwriting meanwhile. The ring has one spare block
/// beyond the capacity, so the entry being overwritten is always one that has already left; the flow
/// stream never waits for a query, however long.
/// </para>
/// </remarks>
public sealed class FlowStore : IFlowSink
{
    private readonly FlowBlock?[] _blocks;
    private readonly int _capacity;
    private readonly int _slots;
    private readonly StringTable _strings;
    private readonly LabelSetTable _labelSets;
    private readonly EndpointTable _endpoints;
    private readonly Dictionary<(string?, string?), int> _services = new(ServiceReferenceComparer.Instance);
    private readonly Gauge _flowsGauge;
    private readonly Counter _evictedCounter;
    private long _written;
    private long _evicted;

    public FlowStore(FlowStoreOptions options, IMetricFactory metrics)
    {
        options.Validate();
        _capacity = options.Capacity;
        _slots = _capacity + FlowBlock.Size;
        _blocks = new FlowBlock?[_slots / FlowBlock.Size];
        var overflowed = metrics.CreateCounter("flowwatch_store_names_overflowed_total",
            "Names, endpoints and label sets the recent-flow store's bounded tables had no room for (stored as \"(overflow)\" or empty).",
            new CounterConfiguration { LabelNames = ["table"] });
        var names = overflowed.WithLabels("names");
        var labelSets = overflowed.WithLabels("label_sets");
        var endpoints = overflowed.WithLabels("endpoints");
        _strings = new StringTable(options.MaxStrings) { OnOverflow = () => names.Inc() };
        _labelSets = new LabelSetTable(options.MaxLabelSets) { OnOverflow = () => labelSets.Inc() };
        _endpoints = new EndpointTable(_strings, _labelSets, options.MaxEndpoints) { OnOverflow = () => endpoints.Inc() };
        _flowsGauge = metrics.CreateGauge("flowwatch_store_flows", "Flows held in the recent-flow store.");
        _evictedCounter = metrics.CreateCounter("flowwatch_store_evicted_total", "Flows the recent-flow store let go (oldest first) to stay within its bounds.");
    }

    /// <summary>Most flows the store keeps (the smaller of its count and memory bounds, in whole blocks).</summary>
    public int Capacity => _capacity;

    public long Count => Math.Min(Volatile.Read(ref _written), _capacity);
    public long Evicted => Volatile.Read(ref _evicted);
    public long Written => Volatile.Read(ref _written);

    /// <summary>Names, endpoints and label sets that did not fit their tables and were stored as "(overflow)" / empty.</summary>
    public long NamesOverflowed => _strings.Overflowed + _endpoints.Overflowed + _labelSets.Overflowed;

    /// <summary>Distinct endpoint label sets held (each endpoint entry refers to one by id).</summary>
    public int LabelSets => _labelSets.Count - 2;

    /// <summary>Copies each flow into a compact entry; keeps no record.</summary>
    public bool KeepsRecords => false;

    /// <summary>Keeps one flow. Called by one thread only (the pipeline's); never blocks.</summary>
    public void Add(FlowRecord flow)
    {
        var seq = _written;
        var pos = (int)(seq % _slots);
        var block = _blocks[pos / FlowBlock.Size] ??= new FlowBlock();
        var offset = pos % FlowBlock.Size;
        if (offset == 0) block.Reset(seq);
        ref var e = ref block.Entries[offset];
        Fill(ref e, flow);
        Index(block, ref e);
        // Full fence: readers that see the new count see the entry, and a reader that saw any part of
        // the next overwrite sees a count that tells it so.
        Interlocked.Exchange(ref _written, seq + 1);
        if (seq >= _capacity)
        {
            Volatile.Write(ref _evicted, _evicted + 1);
            _evictedCounter.Inc();
        }
        else _flowsGauge.Set(seq + 1);
    }

    private void Fill(ref CompactFlow e, FlowRecord f)
    {
        e.TimeNanos = f.TimeNanos;
        var uuid = f.CanonicalUuid;
        e.UuidHigh = uuid.High;
        e.UuidLow = uuid.Low;
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
        e.EventSubType = f.EventSubType;
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
        var slot = (System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(service.Name) * 31 +
            System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(service.Namespace)) & (ServiceCacheSize - 1);
        ref var cached = ref _serviceCache[slot];
        if (ReferenceEquals(cached.Name, service.Name) && ReferenceEquals(cached.Namespace, service.Namespace)) return cached.Id;
        if (!_services.TryGetValue((service.Namespace, service.Name), out var id))
        {
            id = _strings.Intern(service.ToString());
            if (_services.Count >= _capacity) _services.Clear();
            if (id == StringTable.Overflow) return id;
            _services[(service.Namespace, service.Name)] = id;
        }
        cached = (service.Namespace, service.Name, id);
        return id;
    }

    // Direct-mapped by the names' identity (they come pooled), before the dictionary: a flow names up to two services.
    private const int ServiceCacheSize = 1 << 10;
    private readonly (string? Namespace, string? Name, int Id)[] _serviceCache = new (string?, string?, int)[ServiceCacheSize];

    /// <summary>Service names come pooled: compare the string objects, not their characters.</summary>
    private sealed class ServiceReferenceComparer : IEqualityComparer<(string?, string?)>
    {
        public static readonly ServiceReferenceComparer Instance = new();
        public bool Equals((string?, string?) a, (string?, string?) b) => ReferenceEquals(a.Item1, b.Item1) && ReferenceEquals(a.Item2, b.Item2);
        public int GetHashCode((string?, string?) k) =>
            HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(k.Item1), System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(k.Item2));
    }

    private void Index(FlowBlock block, ref CompactFlow e)
    {
        block.NoteTime(e.TimeNanos);
        IndexEndpoint(block, e.SourceEndpoint);
        IndexEndpoint(block, e.DestinationEndpoint);
        block.AddKey(BlockKeys.Node(e.Node));
        block.AddKey(BlockKeys.Verdict((int)e.Verdict));
        block.AddKey(BlockKeys.Reason(e.DropReason));
        block.AddKey(BlockKeys.Port(e.SourcePort));
        block.AddKey(BlockKeys.Port(e.DestinationPort));
        block.AddKey(BlockKeys.Ip(e.SourceIp));
        block.AddKey(BlockKeys.Ip(e.DestinationIp));
    }

    /// <summary>An endpoint's namespace, pod and workload keys, unless this block already has them.</summary>
    /// <remarks>A block's 4,096 flows name far fewer endpoints; a direct-mapped memory of the endpoints indexed into the
    /// block being written skips the three keys (and the table read) for most flows. A slot says which block it is for, so
    /// starting a block needs no clearing.</remarks>
    private void IndexEndpoint(FlowBlock block, int endpoint)
    {
        ref var seen = ref _indexedEndpoints[endpoint & (IndexedCacheSize - 1)];
        if (seen.Endpoint == endpoint && seen.BlockStart == block.StartSeq) return;
        seen = (block.StartSeq, endpoint);
        var en = _endpoints[endpoint];
        block.AddKey(BlockKeys.Namespace(en.Namespace));
        block.AddKey(BlockKeys.Pod(en.Pod));
        block.AddKey(BlockKeys.Workload(en.Workload));
    }

    private const int IndexedCacheSize = 1 << 12;
    private readonly (long BlockStart, int Endpoint)[] _indexedEndpoints = InitIndexed();

    // No block starts at -1, so no slot claims an endpoint before it was indexed.
    private static (long, int)[] InitIndexed()
    {
        var slots = new (long, int)[IndexedCacheSize];
        Array.Fill(slots, (-1L, 0));
        return slots;
    }

    /// <summary>Whether any stored flow has this pod on either side.</summary>
    public bool KnowsPod(string @namespace, string pod)
    {
        var ns = _strings.Find(@namespace);
        var p = _strings.Find(pod);
        if (ns <= 0 || p <= 0) return false;
        var count = _endpoints.Count;
        for (var i = 1; i < count; i++)
        {
            var e = _endpoints[i];
            if (e.Pod == p && e.Namespace == ns) return true;
        }
        return false;
    }

    /// <summary>Runs a query: newest first (or oldest first after <see cref="FlowQuery.After"/>), at most <see cref="FlowQuery.Limit"/> flows. Any thread.</summary>
    public FlowPage Query(FlowQuery query) => Query(query, ScanBudget.Unlimited);

    /// <summary>Runs a query within a scan budget; when it runs out, the page holds what was found, marked truncated, with a cursor to go on from.</summary>
    /// <remarks>The page keeps copies of the compact entries and resolves a flow when it is read; disposing it returns its array to a pool.</remarks>
    public FlowPage Query(FlowQuery query, ScanBudget budget)
    {
        var limit = Math.Clamp(query.Limit, 1, FlowQuery.MaxLimit);
        var head = Volatile.Read(ref _written);
        var matcher = Matcher.Resolve(query, _strings, _labelSets);
        var latest = head - 1;
        if (matcher.MatchesNothing || head == 0) return new FlowPage(new StoredFlowList(this, 0), null, latest, 0);
        var results = new StoredFlowList(this, (int)Math.Min(limit, head));
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        bool Spent(long rows) => rows >= budget.MaxRows ||
            (budget.MaxTime != TimeSpan.MaxValue && System.Diagnostics.Stopwatch.GetElapsedTime(started) >= budget.MaxTime);
        long scanned = 0, oldest = 0;
        if (query.After is { } after)
        {
            var s = Math.Max(after + 1, 0);
            while (s < head && results.Count < limit)
            {
                if (Spent(scanned)) return new FlowPage(results, s - 1, latest, scanned, Truncated: true);
                s = Math.Max(s, Volatile.Read(ref _written) - _capacity);
                var end = Math.Min(head, s - s % FlowBlock.Size + FlowBlock.Size);
                var blockStart = results.Count;
                scanned += ScanBlock(s, end - 1, ascending: true, limit, matcher, results);
                results.DropStale(blockStart, MinValid());
                s = end;
            }
            return new FlowPage(results, null, latest, scanned);
        }
        var top = Math.Min(query.Before ?? head, head) - 1;
        var stale = false;
        while (top >= 0 && results.Count < limit && !stale)
        {
            oldest = Math.Max(0, Volatile.Read(ref _written) - _capacity);
            if (top < oldest) break;
            if (Spent(scanned)) return new FlowPage(results, top + 1, latest, scanned, Truncated: true);
            var low = Math.Max(oldest, top - top % FlowBlock.Size);
            var blockStart = results.Count;
            scanned += ScanBlock(top, low, ascending: false, limit, matcher, results);
            // Newest first: once one copy may be overwritten, so may every older one.
            stale = results.DropStale(blockStart, MinValid());
            top = low - 1;
        }
        long? next = results.Count == limit && results.SeqAt(results.Count - 1) > oldest ? results.SeqAt(results.Count - 1) : null;
        return new FlowPage(results, next, latest, scanned);
    }

    /// <summary>Oldest sequence number whose copy can be trusted (the writer may be writing seq <c>_written</c> over seq <c>_written - _slots</c>).</summary>
    private long MinValid() => WrittenAfterReads() - _slots + 1;

    private long WrittenAfterReads()
    {
        Interlocked.MemoryBarrier();   // the copies above are complete before the count is read
        return Volatile.Read(ref _written);
    }

    /// <summary>Copies the matching entries of one block, from <paramref name="from"/> to <paramref name="to"/> (same block), into
    /// <paramref name="results"/> until it holds <paramref name="limit"/>, unless the block's index rules it out.</summary>
    private long ScanBlock(long from, long to, bool ascending, int limit, Matcher matcher, StoredFlowList results)
    {
        var block = Volatile.Read(ref _blocks[(int)(from % _slots) / FlowBlock.Size]);
        if (block is null) return 0;
        var blockStart = from - from % FlowBlock.Size;
        if (!matcher.MayMatch(block) && WrittenAfterReads() < blockStart + _slots)
            return 0;   // the filter was read before the writer came back round to this block: trust it
        long scanned = 0;
        var step = ascending ? 1 : -1;
        for (var seq = from; ascending ? seq <= to : seq >= to; seq += step)
        {
            scanned++;
            var copy = block.Entries[(int)(seq % FlowBlock.Size)];
            if (!matcher.Matches(in copy, _endpoints)) continue;
            results.Add(seq, in copy);
            if (results.Count >= limit) break;
        }
        return scanned;
    }

    internal StoredFlow Materialize(long seq, in CompactFlow e) => new(
        seq, e.TimeNanos, _strings[e.Node], e.Verdict, e.DropReason, e.Protocol, e.Kind,
        Side(e.SourceEndpoint, e.SourceIp, e.SourcePort, e.SourceService),
        Side(e.DestinationEndpoint, e.DestinationIp, e.DestinationPort, e.DestinationService),
        e.TcpFlags, e.IcmpType, e.IcmpCode, e.Reply, e.Direction, e.ObservationPoint, e.EventType,
        (L7Protocol)(e.L7 >> 4), (L7Kind)(e.L7 & 0xF), _strings[e.L7Name], _strings[e.L7Detail], e.L7Code)
    {
        Uuid = Uuid128.FromBits(e.UuidHigh, e.UuidLow).ToString(),
        EventSubType = e.EventSubType,
    };

    private StoredEndpoint Side(int endpoint, IpAddr ip, ushort port, int service)
    {
        var en = _endpoints[endpoint];
        return new StoredEndpoint(en.Identity, _strings[en.Namespace], _strings[en.Pod], _strings[en.Workload],
            _strings[en.WorkloadKind], ip, port, _strings[service]) { Labels = _labelSets[en.Labels] };
    }
}
