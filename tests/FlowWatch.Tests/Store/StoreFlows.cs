using FlowWatch.Flows;
using FlowWatch.Store;
using Prometheus;

namespace FlowWatch.Tests.Store;

/// <summary>Synthetic flows whose every field is a function of their number, so a torn or misplaced read shows.</summary>
internal static class StoreFlows
{
    public static readonly long Start = FlowRecord.ToNanos(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private static readonly FlowEndpoint[] Pods = Enumerable.Range(0, 50)
        .Select(i => new FlowEndpoint((uint)(1000 + i), $"ns-{i % 5}", $"pod-{i}", $"wl-{i % 10}", "Deployment")).ToArray();

    /// <summary>Flow number n: 1 ms apart, pod n%50 to pod (n+7)%50, port n%1000, dropped when n%10==0.</summary>
    public static FlowRecord Numbered(long n) => new()
    {
        TimeNanos = Start + n * 1_000_000,
        NodeName = $"node-{n % 3}",
        Verdict = n % 10 == 0 ? Verdict.Dropped : Verdict.Forwarded,
        DropReason = n % 10 == 0 ? 133 : 0,
        Kind = FlowKind.L3L4,
        Protocol = L4Protocol.Tcp,
        SourceIp = IpAddr.FromV4(10, 0, 0, (byte)(n % 50)),
        DestinationIp = IpAddr.FromV4(10, 0, 1, (byte)((n + 7) % 50)),
        SourcePort = (ushort)(n % 1000 + 30000),
        DestinationPort = (ushort)(n % 1000),
        Source = Pods[n % 50],
        Destination = Pods[(n + 7) % 50],
        TcpFlags = TcpFlags.Syn,
    };

    /// <summary>The number a stored flow was made from, checked against every field that encodes it.</summary>
    public static long NumberOf(StoredFlow f)
    {
        var n = (f.TimeNanos - Start) / 1_000_000;
        Assert.Equal($"pod-{n % 50}", f.Source.Pod);
        Assert.Equal($"pod-{(n + 7) % 50}", f.Destination.Pod);
        Assert.Equal((int)(n % 1000), f.Destination.Port);
        Assert.Equal($"node-{n % 3}", f.Node);
        return n;
    }

    public static FlowStore Store(int maxFlows, out CollectorRegistry registry)
    {
        registry = Prometheus.Metrics.NewCustomRegistry();
        return new FlowStore(new FlowStoreOptions { MaxFlows = maxFlows }, Prometheus.Metrics.WithCustomRegistry(registry));
    }

    public static FlowStore Filled(int maxFlows, long count)
    {
        var store = Store(maxFlows, out _);
        for (long n = 0; n < count; n++) store.Add(Numbered(n));
        return store;
    }
}
