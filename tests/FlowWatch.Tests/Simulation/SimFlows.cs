using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Simulation;

namespace FlowWatch.Tests.Simulation;

/// <summary>Generated batches as flow records, and the handful of questions the tests ask of them.</summary>
internal static class SimFlows
{
    public static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static List<GetFlowsResponse> Batch(ScenarioSet scenarios, TimeSpan duration, double rate = 2_000, int seed = 7, int nodes = 5) =>
        new TrafficGenerator(seed, nodes, scenarios, rate).Generate(Start, duration).ToList();

    public static List<FlowRecord> Records(IEnumerable<GetFlowsResponse> batch)
    {
        var converter = new FlowConverter(new StringPool());
        return batch.Where(r => r.Flow is not null).Select(r => converter.Convert(r.Flow)).ToList();
    }

    public static List<FlowRecord> Records(ScenarioSet scenarios, TimeSpan duration, double rate = 2_000, int seed = 7) =>
        Records(Batch(scenarios, duration, rate, seed));

    public static bool IsSyn(FlowRecord f) => f.Protocol == L4Protocol.Tcp && (f.TcpFlags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn;

    public static bool IsPureAck(FlowRecord f) => f.Protocol == L4Protocol.Tcp && f.TcpFlags == TcpFlags.Ack;

    public static (IpAddr, ushort, IpAddr, ushort) Tuple(FlowRecord f) => (f.SourceIp, f.SourcePort, f.DestinationIp, f.DestinationPort);

    public static (IpAddr, ushort, IpAddr, ushort) ReverseTuple(FlowRecord f) => (f.DestinationIp, f.DestinationPort, f.SourceIp, f.SourcePort);

    public static bool IsDns(FlowRecord f, L7Kind kind) => f.Kind == FlowKind.L7 && f.L7?.Dns is not null && f.L7.Kind == kind;

    /// <summary>Request key of a DNS flow, the same for the request and its answer: (client IP, client port, query).</summary>
    public static (IpAddr, ushort, string) DnsKey(FlowRecord f) => f.L7!.Kind == L7Kind.Request
        ? (f.SourceIp, f.SourcePort, f.L7.Dns!.Query)
        : (f.DestinationIp, f.DestinationPort, f.L7.Dns!.Query);
}
