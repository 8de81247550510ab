using FlowWatch.Detectors.Handshakes;
using FlowWatch.Flows;
using Prometheus;

namespace FlowWatch.Detectors.Backends;

/// <summary>A NodePort/LoadBalancer service as the backend detector tracks it.</summary>
internal sealed class ServiceEntry(string @namespace, string name)
{
    public string Namespace { get; } = @namespace;
    public string Name { get; } = name;
    public string Type = "";
    public List<(int NodePort, int TargetPort)> Ports = [];
    public bool FromCluster;
    /// <summary>Named only by flows from outside the cluster (no cluster state or configuration describes it).</summary>
    public bool LearnedFromFlows;
    public readonly Dictionary<string, BackendEntry> Backends = new(StringComparer.Ordinal);

    public bool HasTargetPort(int port)
    {
        foreach (var p in Ports)
            if (p.TargetPort == port) return true;
        return false;
    }

    public int NodePortFor(int targetPort)
    {
        foreach (var p in Ports)
            if (p.TargetPort == targetPort) return p.NodePort;
        return Ports.Count > 0 ? Ports[0].NodePort : 0;
    }
}

/// <summary>One backend pod of one service: its rolling window of handshake outcomes and HTTP classes.</summary>
internal sealed class BackendEntry(ServiceEntry service, string pod, RollingCounters counts)
{
    // Slots of the rolling window: handshake outcomes, then HTTP classes 2xx..5xx, then a latency histogram.
    public const int HttpSlot = HandshakeOutcomes.Count;
    public const int LatencySlot = HttpSlot + 4;
    public const int LatencyBuckets = 12;
    public const int Slots = LatencySlot + LatencyBuckets;
    public static readonly string[] HttpClassNames = ["2xx", "3xx", "4xx", "5xx"];

    public ServiceEntry Service { get; } = service;
    public string Pod { get; } = pod;
    public RollingCounters Counts { get; } = counts;
    public string Workload = "";
    public IpAddr Ip;
    public string Node = "";
    public bool? Ready;
    /// <summary>Known only from flows (no configuration or EndpointSlice names it).</summary>
    public bool Learned;
    public DateTimeOffset? LastSeen;
    public Gauge.Child? HealthGauge;
    public Counter.Child[]? HandshakeCounters;

    /// <summary>Upper bound in ms of each latency histogram slot (the last is open-ended).</summary>
    public static int LatencySlotFor(long nanos)
    {
        var ms = nanos / 1_000_000;
        var i = 0;
        for (long bound = 1; i < LatencyBuckets - 1 && ms >= bound; bound <<= 1) i++;
        return LatencySlot + i;
    }

    public static double LatencyUpperMs(int bucket) => Math.Pow(2, bucket);
}
