namespace FlowWatch.Flows;

/// <summary>Hubble's verdict, with Cilium's numbers.</summary>
public enum Verdict : byte
{
    Unknown = 0, Forwarded = 1, Dropped = 2, Error = 3, Audit = 4, Redirected = 5, Traced = 6, Translated = 7,
}

/// <summary>Layer-4 protocol of a flow.</summary>
public enum L4Protocol : byte { None = 0, Tcp = 1, Udp = 2, Icmpv4 = 3, Icmpv6 = 4, Sctp = 5 }

/// <summary>TCP header flags as a bit set.</summary>
[Flags]
public enum TcpFlags : ushort
{
    None = 0, Fin = 1, Syn = 2, Rst = 4, Psh = 8, Ack = 16, Urg = 32, Ece = 64, Cwr = 128, Ns = 256,
}

/// <summary>Hubble's flow type (L3/L4 datapath event, L7 proxy record, socket trace).</summary>
public enum FlowKind : byte { Unknown = 0, L3L4 = 1, L7 = 2, Sock = 3 }

/// <summary>Whether the flow is the reply direction; older recordings leave it unknown.</summary>
public enum ReplyState : byte { Unknown = 0, Request = 1, Reply = 2 }

/// <summary>Ingress or egress as seen by the endpoint's policy.</summary>
public enum TrafficDirection : byte { Unknown = 0, Ingress = 1, Egress = 2 }

/// <summary>Where in the datapath a trace event was taken, with Cilium's numbers.</summary>
public enum ObservationPoint : byte
{
    Unknown = 0, ToProxy = 1, ToHost = 2, ToStack = 3, ToOverlay = 4, FromEndpoint = 5, FromProxy = 6,
    FromHost = 7, FromStack = 8, FromOverlay = 9, FromNetwork = 10, ToNetwork = 11, ToEndpoint = 101,
}

/// <summary>Request, response or sample, for L7 records.</summary>
public enum L7Kind : byte { Unknown = 0, Request = 1, Response = 2, Sample = 3 }

/// <summary>Cilium's reserved security identities (numeric endpoint identity).</summary>
public static class ReservedIdentity
{
    public const uint Host = 1;
    public const uint World = 2;
    public const uint Unmanaged = 3;
    public const uint Health = 4;
    public const uint Init = 5;
    public const uint RemoteNode = 6;
    public const uint KubeApiServer = 7;
    public const uint Ingress = 8;
    public const uint WorldIpv4 = 9;
    public const uint WorldIpv6 = 10;
}

/// <summary>Cilium monitor message types carried in <c>event_type.type</c>.</summary>
public static class CiliumEventTypes
{
    public const byte Drop = 1;
    public const byte Debug = 2;
    public const byte Capture = 3;
    public const byte Trace = 4;
    public const byte PolicyVerdict = 5;
    public const byte AccessLog = 129;
}
