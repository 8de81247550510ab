using FlowWatch.Flows;

namespace FlowWatch.Detectors.Handshakes;

/// <summary>One TCP handshake to a pod, classified once it completed, failed or timed out.</summary>
/// <param name="Started">Event time of the first SYN.</param>
/// <param name="DecidedAt">Event time at which the outcome was decided.</param>
/// <param name="Rtt">First SYN to the client's ACK (completed only; includes SYN retransmissions).</param>
/// <param name="SynTransmissions">Distinct SYNs sent by the client (1 = no retransmission).</param>
/// <param name="SynAcks">Distinct SYN-ACKs seen from the pod.</param>
/// <param name="SynReachedPod">A SYN was observed at TO_ENDPOINT (delivered into the pod).</param>
/// <param name="DestinationService">The service the flows named, when any did (kube-proxy often leaves it empty).</param>
/// <param name="Node">Node that observed the server side (TO_ENDPOINT), else the first observer.</param>
public sealed record ClassifiedHandshake(
    DateTimeOffset Started,
    DateTimeOffset DecidedAt,
    string ServerNamespace,
    string ServerPod,
    string ServerWorkload,
    IpAddr ServerIp,
    ushort ServerPort,
    IpAddr ClientIp,
    ushort ClientPort,
    FlowEndpoint Client,
    HandshakeOutcome Outcome,
    int DropReason,
    TimeSpan? Rtt,
    int SynTransmissions,
    int SynAcks,
    bool SynReachedPod,
    ServiceRef DestinationService,
    string Node)
{
    public string OutcomeName => HandshakeOutcomes.Name(Outcome);
    public string DropReasonName => DropReasons.Name(DropReason);
}
