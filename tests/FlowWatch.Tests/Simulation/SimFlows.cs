using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Simulation;

namespace FlowWatch.Tests.Simulation;

/// <summary>Generated batches as flow records, and the handful of questions the tests ask of them.</summary>
internal static class SimFlows
{
    public static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <param name="shapes">The generator's default (a Relay's) when null; <see cref="TrafficShapes.None"/> only where a test says why.</param>
    public static List<GetFlowsResponse> Batch(ScenarioSet scenarios, TimeSpan duration, double rate = 2_000, int seed = 7, int nodes = 5,
        TrafficShapes? shapes = null)
    {
        var generator = new TrafficGenerator(seed, nodes, scenarios, rate);
        if (shapes is not null) generator = new TrafficGenerator(generator.Cluster, scenarios, rate) { Shapes = shapes };
        return generator.Generate(Start, duration).ToList();
    }

    public static List<FlowRecord> Records(IEnumerable<GetFlowsResponse> batch)
    {
        var converter = new FlowConverter(new StringPool());
        return batch.Where(r => r.Flow is not null).Select(r => converter.Convert(r.Flow)).ToList();
    }

    public static List<FlowRecord> Records(ScenarioSet scenarios, TimeSpan duration, double rate = 2_000, int seed = 7, TrafficShapes? shapes = null) =>
        Records(Batch(scenarios, duration, rate, seed, shapes: shapes));

    /// <summary>Each node's own flows in time order (a Relay keeps that much), and no flow further behind the newest than the lag allows.</summary>
    public static void AssertRelayOrder(IEnumerable<GetFlowsResponse> messages, TimeSpan maxLag)
    {
        var perNode = new Dictionary<string, long>(StringComparer.Ordinal);
        long newest = 0;
        var i = 0;
        foreach (var r in messages)
        {
            i++;
            if (r.Flow is null) continue;
            var t = r.Time.Seconds * 1_000_000_000L + r.Time.Nanos;
            Xunit.Assert.True(t >= perNode.GetValueOrDefault(r.NodeName), $"message {i}: {r.NodeName}'s flows went back in time");
            Xunit.Assert.True(newest - t <= maxLag.Ticks * 100 + FlowFactory.ExtraLeadNanos, $"message {i} is {(newest - t) / 1e6:F1} ms behind the newest");
            perNode[r.NodeName] = t;
            newest = Math.Max(newest, t);
        }
    }

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
