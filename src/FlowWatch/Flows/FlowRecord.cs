namespace FlowWatch.Flows;

/// <summary>One observed flow as all of FlowWatch sees it, converted once from Hubble's protobuf or JSON.</summary>
/// <remarks>
/// Strings are interned by the converter, so records share their names; detectors, the store
/// and metrics read only this type and never protobuf.
/// <para>
/// A record may come from a <see cref="FlowRecordPool"/> (the decoders rent one per flow when given a pool, so a busy
/// stream allocates no record per flow): the pipeline hands it back after the last sink and detector has seen it,
/// and only when every one of them has declared that it keeps no record past its call (see
/// <see cref="Pipeline.IFlowSink.KeepsRecords"/>). Whoever holds a record it did not rent must therefore copy what it
/// needs, never the record itself. Records built with an initializer belong to no pool and are never reused.
/// </para>
/// </remarks>
public sealed class FlowRecord
{
    // The fields live in one struct so a pooled record is refilled or cleared in one assignment.
    private FlowData _d = FlowData.Empty;
    private FlowRecordPool? _pool;
    private int _state;
    // A pooled record's L7 part, reused with it (most flows have none; the few that do would otherwise allocate one each).
    private L7Record? _ownL7;

    internal const int Free = 0, Rented = 1, InPool = 2;

    /// <summary>Event time in nanoseconds since the Unix epoch.</summary>
    public long TimeNanos { get => _d.TimeNanos; init => _d.TimeNanos = value; }
    /// <summary>Hubble's flow id; "" when the flow has none. Kept as 16 bytes and formatted on first read when canonical.</summary>
    public string Uuid
    {
        get => _d.UuidText ??= _d.UuidBits.ToString();
        init => _d.UuidText = value.Length == 0 ? null : value;
    }

    /// <summary>The id as the wire decoder found it, when it was in canonical form (see <see cref="Uuid128"/>).</summary>
    internal Uuid128 UuidBits { init => _d.UuidBits = value; }

    /// <summary>The id as 16 bytes when it is canonical (from the decoder or parsed from <see cref="Uuid"/>); absent otherwise.</summary>
    internal Uuid128 CanonicalUuid =>
        _d.UuidBits.Present ? _d.UuidBits : _d.UuidText is { } text && Uuid128.TryParse(text.AsSpan(), out var parsed) ? parsed : default;

    /// <summary>Whether the flow has an id, without formatting it.</summary>
    public bool HasUuid => _d.UuidBits.Present || _d.UuidText is { Length: > 0 };

    /// <summary>The flow source (a <c>--hubble</c> source's name, or its target) that delivered the flow; "" when not from a Hubble stream.</summary>
    /// <remarks>Lets per-source bookkeeping (each source's checkpoint resume point) follow what the pipeline processed.</remarks>
    public string Origin { get => _d.Origin; init => _d.Origin = value; }
    /// <summary>Where the flow came from: the Hubble node name (or the replayed file when absent).</summary>
    public string NodeName { get => _d.NodeName; init => _d.NodeName = value; }
    public Verdict Verdict { get => _d.Verdict; init => _d.Verdict = value; }
    /// <summary>Cilium drop reason number; 0 when the flow was not dropped. Names via <see cref="DropReasons"/>.</summary>
    public int DropReason { get => _d.DropReason; init => _d.DropReason = value; }
    public FlowKind Kind { get => _d.Kind; init => _d.Kind = value; }
    public byte EventType { get => _d.EventType; init => _d.EventType = value; }
    public byte EventSubType { get => _d.EventSubType; init => _d.EventSubType = value; }
    public IpAddr SourceIp { get => _d.SourceIp; init => _d.SourceIp = value; }
    public IpAddr DestinationIp { get => _d.DestinationIp; init => _d.DestinationIp = value; }
    public L4Protocol Protocol { get => _d.Protocol; init => _d.Protocol = value; }
    public ushort SourcePort { get => _d.SourcePort; init => _d.SourcePort = value; }
    public ushort DestinationPort { get => _d.DestinationPort; init => _d.DestinationPort = value; }
    public TcpFlags TcpFlags { get => _d.TcpFlags; init => _d.TcpFlags = value; }
    /// <summary>ICMP type and code; zero for other protocols.</summary>
    public byte IcmpType { get => _d.IcmpType; init => _d.IcmpType = value; }
    public byte IcmpCode { get => _d.IcmpCode; init => _d.IcmpCode = value; }
    public FlowEndpoint Source { get => _d.Source; init => _d.Source = value; }
    public FlowEndpoint Destination { get => _d.Destination; init => _d.Destination = value; }
    public ServiceRef SourceService { get => _d.SourceService; init => _d.SourceService = value; }
    public ServiceRef DestinationService { get => _d.DestinationService; init => _d.DestinationService = value; }
    public ReplyState Reply { get => _d.Reply; init => _d.Reply = value; }
    public TrafficDirection Direction { get => _d.Direction; init => _d.Direction = value; }
    public ObservationPoint ObservationPoint { get => _d.ObservationPoint; init => _d.ObservationPoint = value; }
    /// <summary>L7 proxy record (DNS, HTTP); null for L3/L4 flows.</summary>
    public L7Record? L7 { get => _d.L7; init => _d.L7 = value; }

    public DateTimeOffset Time => DateTimeOffset.UnixEpoch.AddTicks(TimeNanos / 100);

    public string DropReasonName => DropReasons.Name(DropReason);

    public bool IsReply => Reply == ReplyState.Reply;

    public static long ToNanos(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    /// <summary>The fields, for a decoder filling a record it rented.</summary>
    internal ref FlowData Data => ref _d;

    /// <summary>The pool this record was rented from; null for a record built with an initializer.</summary>
    internal FlowRecordPool? Pool => _pool;

    /// <summary><see cref="Free"/> (no pool), <see cref="Rented"/> or <see cref="InPool"/>.</summary>
    internal int State => Volatile.Read(ref _state);

    internal void MarkRented(FlowRecordPool pool)
    {
        _pool = pool;
        Volatile.Write(ref _state, Rented);
    }

    /// <summary>Rented → in the pool; false when it was not rented (returned twice, or never rented).</summary>
    internal bool TryMarkReturned() => Interlocked.CompareExchange(ref _state, InPool, Rented) == Rented;

    internal void Clear() => _d = FlowData.Empty;

    /// <summary>An L7 record to fill for this flow: the record's own when it is pooled, else a new one.</summary>
    internal L7Record L7ToFill() => _pool is null ? new L7Record() : _ownL7 ??= new L7Record();

    /// <summary>The pooled record's own L7 part, when it has one (for poisoning on return).</summary>
    internal L7Record? OwnL7 => _ownL7;
}

/// <summary>Every field of a <see cref="FlowRecord"/>, in one struct so a pooled record is filled or cleared at once.</summary>
internal struct FlowData
{
    public static readonly FlowData Empty = new()
    {
        Origin = "", NodeName = "", Source = FlowEndpoint.Empty, Destination = FlowEndpoint.Empty,
    };

    public long TimeNanos;
    public string? UuidText;
    public Uuid128 UuidBits;
    public string Origin;
    public string NodeName;
    public FlowEndpoint Source;
    public FlowEndpoint Destination;
    public ServiceRef SourceService;
    public ServiceRef DestinationService;
    public L7Record? L7;
    public IpAddr SourceIp;
    public IpAddr DestinationIp;
    public int DropReason;
    public Verdict Verdict;
    public FlowKind Kind;
    public L4Protocol Protocol;
    public TcpFlags TcpFlags;
    public ReplyState Reply;
    public TrafficDirection Direction;
    public ObservationPoint ObservationPoint;
    public ushort SourcePort;
    public ushort DestinationPort;
    public byte EventType;
    public byte EventSubType;
    public byte IcmpType;
    public byte IcmpCode;
}

/// <summary>One side of a flow: Cilium's identity and, for pods, namespace, pod and owning workload, and its labels.</summary>
public sealed record FlowEndpoint(uint Identity, string Namespace, string Pod, string Workload, string WorkloadKind)
{
    public static readonly FlowEndpoint Empty = new(0, "", "", "", "");

    /// <summary>Cilium's labels of the endpoint ("k8s:app=web"), pooled: for Hubble's label selectors in queries.</summary>
    public EndpointLabels Labels { get; init; } = EndpointLabels.Empty;

    /// <summary>The ClusterMesh cluster Cilium puts on the endpoint (<c>cluster_name</c>); "" when the flow names none.</summary>
    public string Cluster { get; init; } = "";

    public bool IsPod => Pod.Length != 0;

    /// <summary>"namespace/pod", or the reserved identity's name for non-pods.</summary>
    public string Display => IsPod ? $"{Namespace}/{Pod}" : Identity switch
    {
        ReservedIdentity.Host => "(host)",
        ReservedIdentity.World or ReservedIdentity.WorldIpv4 or ReservedIdentity.WorldIpv6 => "(world)",
        ReservedIdentity.Unmanaged => "(unmanaged)",
        ReservedIdentity.RemoteNode => "(remote-node)",
        ReservedIdentity.KubeApiServer => "(kube-apiserver)",
        _ => "",
    };
}

/// <summary>A Kubernetes service by namespace and name; default when the flow names none.</summary>
public readonly record struct ServiceRef(string? Namespace, string? Name)
{
    public bool IsEmpty => string.IsNullOrEmpty(Name);
    public override string ToString() => IsEmpty ? "" : $"{Namespace}/{Name}";
}

/// <summary>The L7 part of a flow that FlowWatch reads.</summary>
/// <remarks>A pooled <see cref="FlowRecord"/> reuses its own L7 record with it, so the same rule holds: copy values, never hold it.</remarks>
public sealed class L7Record
{
    private L7Kind _kind;
    private long _latency;
    private DnsRecord? _dns;
    private HttpRecord? _http;

    public L7Kind Kind { get => _kind; init => _kind = value; }
    public long LatencyNanos { get => _latency; init => _latency = value; }
    public DnsRecord? Dns { get => _dns; init => _dns = value; }
    public HttpRecord? Http { get => _http; init => _http = value; }

    internal void Set(L7Kind kind, long latencyNanos, DnsRecord? dns, HttpRecord? http)
    {
        _kind = kind;
        _latency = latencyNanos;
        _dns = dns;
        _http = http;
    }
}

/// <summary>A DNS request or answer as the Cilium DNS proxy saw it.</summary>
public sealed record DnsRecord(string Query, int Rcode, string QType, int AnswerCount);

/// <summary>An HTTP request or response as the Cilium proxy saw it.</summary>
public sealed record HttpRecord(int Code, string Method, string Url);
