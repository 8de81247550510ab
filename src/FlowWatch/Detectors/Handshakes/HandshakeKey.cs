using FlowWatch.Flows;

namespace FlowWatch.Detectors.Handshakes;

/// <summary>A TCP connection's 5-tuple oriented client to server (the protocol is always TCP here).</summary>
public readonly record struct HandshakeKey(IpAddr ClientIp, IpAddr ServerIp, ushort ClientPort, ushort ServerPort);
