using FlowWatch.Flows;

namespace FlowWatch.Store;

/// <summary>What to look for in the store, with Hubble's filter meanings; every given field must hold.</summary>
/// <remarks>
/// As <c>hubble observe</c>: pods are name prefixes ("ns/prefix"), IPs are addresses or CIDR blocks, ip/port match
/// either side and the From*/To* fields one side, protocol is an L4 or L7 protocol, labels are Kubernetes label selectors
/// over Cilium's endpoint labels. FlowWatch's extension: namespace, pod, workload and label apply to one side together
/// (from_namespace, from_pod and from_label to the source together), and either side may match (Hubble ORs whole
/// filters instead); a pod without "ns/" matches in every namespace (hubble's CLI assumes "default").
/// </remarks>
public sealed record FlowQuery
{
    public string? Namespace { get; init; }
    /// <summary>Pod name prefix; "namespace/prefix" also sets the namespace.</summary>
    public string? Pod { get; init; }
    public string? Workload { get; init; }
    public string? FromNamespace { get; init; }
    public string? ToNamespace { get; init; }
    /// <summary>Source pod name prefix, "namespace/prefix" or "prefix" (any namespace).</summary>
    public string? FromPod { get; init; }
    public string? ToPod { get; init; }
    public string? Node { get; init; }
    /// <summary>Hubble label selector ("k8s:app=web,version in (v1,v2)", "reserved:world") on either side; From/To one side.</summary>
    public string? Label { get; init; }
    public string? FromLabel { get; init; }
    public string? ToLabel { get; init; }
    public IpAddr? Ip { get; init; }
    /// <summary>Either side in this block (an address is a /32 or /128).</summary>
    public IpPrefix? IpBlock { get; init; }
    public IpPrefix? FromIp { get; init; }
    public IpPrefix? ToIp { get; init; }
    public int? Port { get; init; }
    public int? FromPort { get; init; }
    public int? ToPort { get; init; }
    /// <summary>tcp, udp, sctp, icmp, icmpv4, icmpv6 (L4) or dns, http (L7), lower case.</summary>
    public string? Protocol { get; init; }
    public Verdict? Verdict { get; init; }
    /// <summary>Cilium security identity on either side (Hubble's --identity); From/To one side.</summary>
    public uint? Identity { get; init; }
    public uint? FromIdentity { get; init; }
    public uint? ToIdentity { get; init; }
    /// <summary>Cilium event type (Hubble's --type: 1 drop, 4 trace, 5 policy-verdict, 129 l7, ...).</summary>
    public byte? EventType { get; init; }
    /// <summary>Event sub-type, matched only with <see cref="EventType"/> (trace:to-endpoint is 4 with 0).</summary>
    public byte? EventSubType { get; init; }
    /// <summary>Cilium drop reason number.</summary>
    public int? DropReason { get; init; }
    /// <summary>Earliest event time, nanoseconds since the epoch (inclusive).</summary>
    public long? SinceNanos { get; init; }
    /// <summary>Latest event time, nanoseconds since the epoch (inclusive).</summary>
    public long? UntilNanos { get; init; }
    public int Limit { get; init; } = 100;
    /// <summary>Paging backwards: only flows older than this sequence number (the previous page's next cursor).</summary>
    public long? Before { get; init; }
    /// <summary>Following: only flows newer than this sequence number, returned oldest first.</summary>
    public long? After { get; init; }

    public const int MaxLimit = 10_000;
}

/// <summary>One page of a query.</summary>
/// <param name="Flows">Newest first, or oldest first when the query had <see cref="FlowQuery.After"/>.</param>
/// <param name="NextCursor">Pass as <see cref="FlowQuery.Before"/> for the next older page; null when there is none.</param>
/// <param name="Latest">Sequence number of the newest flow in the store (-1 when empty), for following.</param>
/// <param name="Scanned">Entries compared (blocks skipped by their index are not counted).</param>
/// <param name="Truncated">The scan budget ran out first: <paramref name="NextCursor"/> says where to go on
/// (as <see cref="FlowQuery.Before"/>, or as <see cref="FlowQuery.After"/> when the query had one).</param>
/// <remarks>A page from the store resolves each flow when it is read; dispose it once written to give its buffer back (not disposing only costs the pool a buffer).</remarks>
public sealed record FlowPage(IReadOnlyList<StoredFlow> Flows, long? NextCursor, long Latest, long Scanned, bool Truncated = false) : IDisposable
{
    public void Dispose() => (Flows as IDisposable)?.Dispose();
}

/// <summary>How much of the store one query may scan before it returns what it has: entries compared and time.</summary>
public readonly record struct ScanBudget(long MaxRows, TimeSpan MaxTime)
{
    public static ScanBudget Unlimited { get; } = new(long.MaxValue, TimeSpan.MaxValue);
}

/// <summary>One side of a stored flow with its names resolved.</summary>
public sealed record StoredEndpoint(uint Identity, string Namespace, string Pod, string Workload, string WorkloadKind, IpAddr Ip, int Port, string Service)
{
    /// <summary>Cilium's labels of the endpoint; empty when it had none or the store's label-set table was full.</summary>
    public EndpointLabels Labels { get; init; } = EndpointLabels.Empty;

    public FlowEndpoint ToFlowEndpoint() => new(Identity, Namespace, Pod, Workload, WorkloadKind) { Labels = Labels };
}

/// <summary>A flow read back from the store, names resolved.</summary>
public sealed record StoredFlow(
    long Seq, long TimeNanos, string Node, Verdict Verdict, int DropReason, L4Protocol Protocol, FlowKind Kind,
    StoredEndpoint Source, StoredEndpoint Destination, TcpFlags TcpFlags, byte IcmpType, byte IcmpCode,
    ReplyState Reply, TrafficDirection Direction, ObservationPoint ObservationPoint, byte EventType,
    L7Protocol L7Protocol, L7Kind L7Kind, string L7Name, string L7Detail, int L7Code)
{
    public DateTimeOffset Time => DateTimeOffset.UnixEpoch.AddTicks(TimeNanos / 100);
    public string DropReasonName => DropReasons.Name(DropReason);
    /// <summary>Hubble's flow id in canonical form; "" when the flow had none (or one in another form).</summary>
    public string Uuid { get; init; } = "";
    public byte EventSubType { get; init; }
}
