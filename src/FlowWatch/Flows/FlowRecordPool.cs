namespace FlowWatch.Flows;

/// <summary>Flow records for reuse, so a steady stream allocates no record per flow: decoders rent, the pipeline returns.</summary>
/// <remarks>
/// Bounded: it keeps at most <see cref="Capacity"/> free records, or, when made with a larger <c>maxCapacity</c>, as many
/// as were ever out on rent at once (up to that maximum). A stream whose reorder stage fills and drains (a Relay's lagging
/// node: a hundred thousand records held, then let go) then reuses on the next swing the records the last one needed,
/// where a fixed free list would leave most of them to the GC and make them anew; the memory that costs is the peak the
/// holders' own bounds already allowed. A return past the limit leaves the record to the GC (counted in
/// <see cref="Discarded"/>), and a rent from an empty pool makes a new one (<see cref="Created"/>). Records held elsewhere
/// (the reorder stage, the intake queue) are not the pool's: it only ever holds records nobody else does. A record
/// returned twice, or one that was never rented, is refused and counted in <see cref="Refused"/>: that is a holder bug,
/// and reusing such a record would hand one flow's fields to two readers. Thread-safe: a source's thread rents while the
/// pipeline's returns.
/// </remarks>
public sealed class FlowRecordPool
{
    /// <summary>Free records kept by default: about 2 MB, several times what a pipeline turns over between two rents.</summary>
    public const int DefaultCapacity = 8192;

    private FlowRecord[] _free;
    private readonly Lock _gate = new();
    private readonly bool _poison;
    private int _count;
    private long _outstanding, _peakOutstanding;
    private long _created, _reused, _returned, _discarded, _refused;

    /// <param name="capacity">Free records always kept.</param>
    /// <param name="maxCapacity">Free records kept at most, when more than <paramref name="capacity"/> were once out at the
    /// same time (default: <paramref name="capacity"/>, a fixed free list).</param>
    /// <param name="poisonReturned">Fill returned records with impossible values (tests): a holder that reads a record after
    /// it went back then sees garbage instead of a plausible flow, so a differential test catches it.</param>
    public FlowRecordPool(int capacity = DefaultCapacity, bool poisonReturned = false, int maxCapacity = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        ArgumentOutOfRangeException.ThrowIfNegative(maxCapacity);
        _free = new FlowRecord[capacity];
        Capacity = capacity;
        MaxCapacity = Math.Max(capacity, maxCapacity);
        _poison = poisonReturned;
    }

    /// <summary>Free records always kept.</summary>
    public int Capacity { get; }
    /// <summary>Free records kept at most (see the remarks).</summary>
    public int MaxCapacity { get; }

    /// <summary>Records made because the pool was empty.</summary>
    public long Created => Interlocked.Read(ref _created);
    /// <summary>Rents served from the pool.</summary>
    public long Reused => Interlocked.Read(ref _reused);
    /// <summary>Records taken back.</summary>
    public long Returned => Interlocked.Read(ref _returned);
    /// <summary>Records taken back while the pool was full, left to the GC.</summary>
    public long Discarded => Interlocked.Read(ref _discarded);
    /// <summary>Returns refused: the record was already back, or was not rented from this pool.</summary>
    public long Refused => Interlocked.Read(ref _refused);
    /// <summary>Records rented and not (yet) returned: held by queues, the reorder stage, or dropped by a holder.</summary>
    public long Outstanding { get { lock (_gate) return _outstanding; } }
    /// <summary>The most records that were out on rent at once.</summary>
    public long PeakOutstanding { get { lock (_gate) return _peakOutstanding; } }

    public int FreeCount { get { lock (_gate) return _count; } }

    /// <summary>A record for one flow; the caller fills <see cref="FlowRecord.Data"/> (every field) and passes it on.</summary>
    internal FlowRecord Rent()
    {
        FlowRecord? record = null;
        lock (_gate)
        {
            if (_count > 0)
            {
                record = _free[--_count];
                _free[_count] = null!;
            }
            if (++_outstanding > _peakOutstanding) _peakOutstanding = _outstanding;
        }
        if (record is null)
        {
            record = new FlowRecord();
            Interlocked.Increment(ref _created);
        }
        else Interlocked.Increment(ref _reused);
        record.MarkRented(this);
        return record;
    }

    /// <summary>Takes a record back once nothing holds it any more; false (and counted) when it was not out on rent from here.</summary>
    public bool Return(FlowRecord record)
    {
        if (!ReferenceEquals(record.Pool, this) || !record.TryMarkReturned())
        {
            Interlocked.Increment(ref _refused);
            return false;
        }
        Interlocked.Increment(ref _returned);
        // Cleared so a free record keeps no strings or L7 records alive, and a stale reader sees no real flow.
        if (_poison)
        {
            record.Data = Poisoned;
            record.OwnL7?.Set((L7Kind)0xEE, long.MinValue / 2, PoisonedDns, PoisonedHttp);
        }
        else record.Clear();
        lock (_gate)
        {
            _outstanding--;
            if (_count < Math.Min(MaxCapacity, Math.Max(Capacity, _peakOutstanding)))
            {
                if (_count == _free.Length) Array.Resize(ref _free, (int)Math.Min(MaxCapacity, Math.Max(16, 2L * _free.Length)));
                _free[_count++] = record;
                return true;
            }
        }
        Interlocked.Increment(ref _discarded);
        return true;
    }

    /// <summary>Returns <paramref name="record"/> to the pool it came from; nothing for a record that belongs to no pool.</summary>
    public static void Release(FlowRecord record) => record.Pool?.Return(record);

    private static readonly FlowEndpoint PoisonedEndpoint = new(0xDEAD, "(returned)", "(returned)", "(returned)", "(returned)");

    private static readonly DnsRecord PoisonedDns = new("(returned)", 0xDEAD, "(returned)", -1);
    private static readonly HttpRecord PoisonedHttp = new(0xDEAD, "(returned)", "(returned)");

    private static readonly FlowData Poisoned = new()
    {
        TimeNanos = long.MinValue / 2, Origin = "(returned)", NodeName = "(returned)", UuidText = "(returned)",
        Source = PoisonedEndpoint, Destination = PoisonedEndpoint,
        SourceService = new ServiceRef("(returned)", "(returned)"), DestinationService = new ServiceRef("(returned)", "(returned)"),
        SourceIp = IpAddr.FromV4(0xDEADBEEF), DestinationIp = IpAddr.FromV4(0xDEADBEEF),
        Verdict = (Verdict)0xEE, DropReason = 0xDEAD, Kind = (FlowKind)0xEE, Protocol = (L4Protocol)0xEE,
        TcpFlags = (TcpFlags)0xFFFF, SourcePort = 0xDEAD, DestinationPort = 0xDEAD, EventType = 0xEE, EventSubType = 0xEE,
        Reply = (ReplyState)0xEE, Direction = (TrafficDirection)0xEE, ObservationPoint = (ObservationPoint)0xEE,
    };
}
