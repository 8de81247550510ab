using System.Runtime.CompilerServices;
using FlowWatch.Flows;

namespace FlowWatch.Store;

/// <summary>One stored flow in 104 bytes: time, uuid, addresses and ports inline, every name as an interned id.</summary>
internal struct CompactFlow
{
    public static readonly int Bytes = Unsafe.SizeOf<CompactFlow>();

    public long TimeNanos;
    /// <summary>Hubble's flow id as 16 bytes (both zero: none, or not in canonical form), so an export can be matched with Hubble's own.</summary>
    public ulong UuidHigh;
    public ulong UuidLow;
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
    /// <summary><see cref="ReplyState"/> in the low nibble, <see cref="TrafficDirection"/> in the high one: one byte, so the event sub-type fits without padding.</summary>
    private byte _replyDirection;
    public ObservationPoint ObservationPoint;
    public byte IcmpType;
    public byte IcmpCode;
    public byte EventType;
    /// <summary>Cilium's event sub-type: the observation point of a trace, the drop reason of a drop.</summary>
    public byte EventSubType;
    /// <summary>L7 kind in the low nibble, <see cref="L7Protocol"/> in the high nibble.</summary>
    public byte L7;

    public ReplyState Reply
    {
        readonly get => (ReplyState)(_replyDirection & 0xF);
        set => _replyDirection = (byte)((_replyDirection & 0xF0) | ((byte)value & 0xF));
    }

    public TrafficDirection Direction
    {
        readonly get => (TrafficDirection)(_replyDirection >> 4);
        set => _replyDirection = (byte)((_replyDirection & 0x0F) | ((byte)value & 0xF) << 4);
    }
}

/// <summary>Which L7 record a stored flow carries.</summary>
public enum L7Protocol : byte { None = 0, Dns = 1, Http = 2, Other = 3 }
