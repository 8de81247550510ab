namespace FlowWatch.Flows;

/// <summary>One observed flow as all of FlowWatch sees it, converted once from Hubble's protobuf or JSON.</summary>
/// <remarks>
/// Strings are interned by the converter, so records share their names; detectors, the store
/// and metrics read only this type and never protobuf.
/// </remarks>
public sealed class FlowRecord
{
    /// <summary>Event time in nanoseconds since the Unix epoch.</summary>
    public long TimeNanos { get; init; }
    /// <summary>Hubble's flow id; "" when the flow has none. Kept as 16 bytes and formatted on first read when canonical.</summary>
    public string Uuid
    {
        get => _uuid ??= _uuidBits.ToString();
        init => _uuid = value.Length == 0 ? null : value;
    }

    private string? _uuid;
    private readonly Uuid128 _uuidBits;

    /// <summary>The id as the wire decoder found it, when it was in canonical form (see <see cref="Uuid128"/>).</summary>
    internal Uuid128 UuidBits { init => _uuidBits = value; }

    /// <summary>The id as 16 bytes when it is canonical (from the decoder or parsed from <see cref="Uuid"/>); absent otherwise.</summary>
    internal Uuid128 CanonicalUuid =>
        _uuidBits.Present ? _uuidBits : _uuid is { } text && Uuid128.TryParse(text.AsSpan(), out var parsed) ? parsed : default;

    /// <summary>The flow source (a <c>--hubble</c> source's name, or its target) that delivered the flow; "" when not from a Hubble stream.</summary>
    /// <remarks>Lets per-source bookkeeping (each source's checkpoint resume point) follow what the pipeline processed.</remarks>
    public string Origin { get; init; } = "";
    /// <summary>Where the flow came from: the Hubble node name (or the replayed file when absent).</summary>
    public string NodeName { get; init; } = "";
    public Verdict Verdict { get; init; }
    /// <summary>Cilium drop reason number; 0 when the flow was not dropped. Names via <see cref="DropReasons"/>.</summary>
    public int DropReason { get; init; }
    public FlowKind Kind { get; init; }
    public byte EventType { get; init; }
    public byte EventSubType { get; init; }
    public IpAddr SourceIp { get; init; }
    public IpAddr DestinationIp { get; init; }
    public L4Protocol Protocol { get; init; }
    public ushort SourcePort { get; init; }
    public ushort DestinationPort { get; init; }
    public TcpFlags TcpFlags { get; init; }
    /// <summary>ICMP type and code; zero for other protocols.</summary>
    public byte IcmpType { get; init; }
    public byte IcmpCode { get; init; }
    public FlowEndpoint Source { get; init; } = FlowEndpoint.Empty;
    public FlowEndpoint Destination { get; init; } = FlowEndpoint.Empty;
    public ServiceRef SourceService { get; init; }
    public ServiceRef DestinationService { get; init; }
    public ReplyState Reply { get; init; }
    public TrafficDirection Direction { get; init; }
    public ObservationPoint ObservationPoint { get; init; }
    /// <summary>L7 proxy record (DNS, HTTP); null for L3/L4 flows.</summary>
    public L7Record? L7 { get; init; }

    public DateTimeOffset Time => DateTimeOffset.UnixEpoch.AddTicks(TimeNanos / 100);

    public string DropReasonName => DropReasons.Name(DropReason);

    public bool IsReply => Reply == ReplyState.Reply;

    public static long ToNanos(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
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
public sealed class L7Record
{
    public L7Kind Kind { get; init; }
    public long LatencyNanos { get; init; }
    public DnsRecord? Dns { get; init; }
    public HttpRecord? Http { get; init; }
}

/// <summary>A DNS request or answer as the Cilium DNS proxy saw it.</summary>
public sealed record DnsRecord(string Query, int Rcode, string QType, int AnswerCount);

/// <summary>An HTTP request or response as the Cilium proxy saw it.</summary>
public sealed record HttpRecord(int Code, string Method, string Url);
