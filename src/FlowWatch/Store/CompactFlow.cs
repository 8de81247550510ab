using System.Runtime.CompilerServices;
using FlowWatch.Flows;

namespace FlowWatch.Store;

/// <summary>One stored flow in 88 bytes: times, addresses and ports inline, every name as an interned id.</summary>
internal struct CompactFlow
{
    public static readonly int Bytes = Unsafe.SizeOf<CompactFlow>();

    public long TimeNanos;
    public IpAddr SourceIp;
    public IpAddr DestinationIp;
    public int SourceEndpoint;
    public int DestinationEndpoint;
    public int Node;
    public int SourceService;
    public int DestinationService;
    /// <summary>DNS query name or HTTP URL.</summary>
    public int L7Name;
    /// <summary>DNS query type or HTTP method.</summary>
    public int L7Detail;
    public ushort SourcePort;
    public ushort DestinationPort;
    public ushort DropReason;
    public TcpFlags TcpFlags;
    /// <summary>DNS rcode or HTTP status.</summary>
    public ushort L7Code;
    public Verdict Verdict;
    public L4Protocol Protocol;
    public FlowKind Kind;
    public ReplyState Reply;
    public TrafficDirection Direction;
    public ObservationPoint ObservationPoint;
    public byte IcmpType;
    public byte IcmpCode;
    public byte EventType;
    /// <summary>L7 kind in the low nibble, <see cref="L7Protocol"/> in the high nibble.</summary>
    public byte L7;
}

/// <summary>Which L7 record a stored flow carries.</summary>
public enum L7Protocol : byte { None = 0, Dns = 1, Http = 2, Other = 3 }
