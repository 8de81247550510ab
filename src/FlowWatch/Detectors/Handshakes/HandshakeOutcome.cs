namespace FlowWatch.Detectors.Handshakes;

/// <summary>How a TCP handshake to a pod ended, as the flows show it.</summary>
public enum HandshakeOutcome : byte
{
    /// <summary>SYN in, SYN-ACK out, then ACK or data from the client (or data from the pod).</summary>
    Completed = 0,
    /// <summary>SYN-ACK left the pod, the client retransmitted its SYN anyway, and no ACK ever came.</summary>
    ReplyLost = 1,
    /// <summary>The pod answered the SYN with RST.</summary>
    Refused = 2,
    /// <summary>A packet of the handshake was dropped by Cilium; the drop reason is kept.</summary>
    Dropped = 3,
    /// <summary>The SYN was seen and nothing came back from the pod within the handshake timeout.</summary>
    Timeout = 4,
    /// <summary>SYN-ACK seen once, no ACK and no retransmission: not enough to blame the path.</summary>
    Incomplete = 5,
    /// <summary>
    /// The SYN arrived on the node (FROM_NETWORK), was retransmitted, and never reached the pod (no TO_ENDPOINT):
    /// the kernel's strict reverse-path filter dropped it, which Hubble does not see.
    /// </summary>
    IngressLost = 6,
}

/// <summary>Label values and groupings for <see cref="HandshakeOutcome"/>.</summary>
public static class HandshakeOutcomes
{
    public const int Count = 7;

    private static readonly string[] Names = ["completed", "reply_lost", "refused", "dropped", "timeout", "incomplete", "ingress_lost"];

    /// <summary>The metric label value ("completed", "reply_lost", ...).</summary>
    public static string Name(HandshakeOutcome outcome) => Names[(int)outcome];

    public static IReadOnlyList<string> AllNames => Names;

    /// <summary>Outcomes that count against the server: everything but completed and incomplete.</summary>
    public static bool IsFailure(HandshakeOutcome outcome) =>
        outcome is HandshakeOutcome.ReplyLost or HandshakeOutcome.Refused or HandshakeOutcome.Dropped or HandshakeOutcome.Timeout
            or HandshakeOutcome.IngressLost;

    /// <summary>The two asymmetric-path shapes: the reply died on its way out, or the request died inside the node.</summary>
    public static bool IsPathLoss(HandshakeOutcome outcome) => outcome is HandshakeOutcome.ReplyLost or HandshakeOutcome.IngressLost;
}
