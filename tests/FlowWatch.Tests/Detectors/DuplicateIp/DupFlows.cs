using FlowWatch.Flows;
using FlowWatch.Kubernetes;

namespace FlowWatch.Tests.Detectors.DuplicateIp;

/// <summary>Flows and cluster events shaped like the duplicate-ip scenario (SCENARIOS.md, 2).</summary>
internal static class DupFlows
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    public static readonly IpAddr SharedIp = IpAddr.Parse("10.1.3.77");
    public static readonly IpAddr ClientIp = IpAddr.Parse("10.1.1.40");
    public const string Node3 = "sim-node-3";
    public static readonly FlowEndpoint Client = new(30001, "shop", "checkout-7d4d858f75-j76f7", "checkout", "Deployment");
    public static readonly FlowEndpoint Inventory = new(40001, "shop", "inventory-6c8b9d7f5d-x7k2p", "inventory", "Deployment");
    public static readonly FlowEndpoint Legacy = new(40002, "shop", "legacy-batch-5f7d8c9b6a-q9w8e", "legacy-batch", "Deployment");
    public static readonly FlowEndpoint Unmanaged = new(3, "", "", "", "");

    /// <summary>A TCP flow from the client to <paramref name="target"/> at <paramref name="targetIp"/>.</summary>
    public static FlowRecord To(DateTimeOffset t, FlowEndpoint target, IpAddr targetIp, string node = "sim-node-1",
        FlowEndpoint? client = null, IpAddr? clientIp = null) => new()
    {
        TimeNanos = FlowRecord.ToNanos(t),
        NodeName = node,
        Verdict = Verdict.Forwarded,
        Kind = FlowKind.L3L4,
        EventType = CiliumEventTypes.Trace,
        SourceIp = clientIp ?? ClientIp,
        DestinationIp = targetIp,
        Protocol = L4Protocol.Tcp,
        SourcePort = 45000,
        DestinationPort = 8080,
        TcpFlags = TcpFlags.Syn,
        Source = client ?? Client,
        Destination = target,
        Reply = ReplyState.Request,
        Direction = TrafficDirection.Egress,
    };

    /// <summary>A flow from <paramref name="source"/> at <paramref name="sourceIp"/> to the client.</summary>
    public static FlowRecord From(DateTimeOffset t, FlowEndpoint source, IpAddr sourceIp, string node = Node3) => new()
    {
        TimeNanos = FlowRecord.ToNanos(t),
        NodeName = node,
        Verdict = Verdict.Forwarded,
        Kind = FlowKind.L3L4,
        EventType = CiliumEventTypes.Trace,
        SourceIp = sourceIp,
        DestinationIp = ClientIp,
        Protocol = L4Protocol.Tcp,
        SourcePort = 33000,
        DestinationPort = 5432,
        TcpFlags = TcpFlags.Syn,
        Source = source,
        Destination = Client,
        Reply = ReplyState.Request,
        Direction = TrafficDirection.Egress,
    };

    public static PodState Pod(FlowEndpoint e, IpAddr ip, string node, DateTimeOffset? started, string phase = "Running",
        bool deleted = false, bool hostNetwork = false) =>
        new(e.Namespace, e.Pod, e.Workload, node, ip, hostNetwork, phase, phase == "Running", started, deleted);

    public static CiliumEndpointState Cep(FlowEndpoint e, IpAddr ip, string node, bool deleted = false) =>
        new(e.Namespace, e.Pod, ip, node, deleted);
}
