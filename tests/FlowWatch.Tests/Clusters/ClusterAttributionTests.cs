using System.Reactive.Linq;
using FlowWatch.Clusters;
using FlowWatch.Detectors;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Flows.Json;
using FlowWatch.Pipeline;
using Google.Protobuf;
using PromMetrics = Prometheus.Metrics;
using Proto = FlowWatch.Hubble.Proto.Flow;

namespace FlowWatch.Tests.Clusters;

/// <summary>ClusterMesh: the cluster_name Cilium puts on endpoints is decoded, the watched cluster is recognised by the
/// flows, and a finding about another cluster's pod or workload names that cluster.</summary>
public sealed class ClusterAttributionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static FlowEndpoint Pod(string cluster, string ns, string pod, string workload) =>
        new(1000, ns, pod, workload, "Deployment") { Cluster = cluster };

    private static FlowRecord Flow(FlowEndpoint source, FlowEndpoint destination, int second = 0) =>
        new() { TimeNanos = FlowRecord.ToNanos(T0.AddSeconds(second)), Source = source, Destination = destination, Verdict = Verdict.Forwarded };

    [Fact]
    public void WireAndJsonDecoders_ReadTheEndpointsClusterName()
    {
        var flow = new Proto.Flow
        {
            Time = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(T0),
            Source = new Proto.Endpoint { Identity = 1234, Namespace = "shop", PodName = "cart-1", ClusterName = "mesh-eu" },
            Destination = new Proto.Endpoint { Identity = 5678, Namespace = "shop", PodName = "inventory-1", ClusterName = "mesh-us" },
        };
        var wire = new FlowWireDecoder().DecodeFlow(flow.ToByteArray());
        Assert.Equal(("mesh-eu", "mesh-us"), (wire.Source.Cluster, wire.Destination.Cluster));

        var line = "{\"flow\":" + new JsonFormatter(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true)).Format(flow) + ",\"node_name\":\"n1\"}";
        Assert.Contains("\"cluster_name\"", line);
        var json = new FlowJsonDecoder().Decode(System.Text.Encoding.UTF8.GetBytes(line)).Flow!;
        Assert.Equal(("mesh-eu", "mesh-us"), (json.Source.Cluster, json.Destination.Cluster));
        Assert.Equal(wire.Source, json.Source);
    }

    [Fact]
    public void LocalCluster_IsTheNameMostFlowsCarry_FindingsAboutTheOthersPodsNameTheirCluster()
    {
        var attribution = new ClusterAttribution("prod-eu");
        // Cilium calls the watched cluster "eu-1" (FlowWatch calls it prod-eu); every flow has a local side.
        for (var i = 0; i < 10; i++) attribution.Add(Flow(Pod("eu-1", "shop", $"cart-{i}", "cart"), Pod("eu-1", "shop", "inventory-1", "inventory")));
        for (var i = 0; i < 3; i++) attribution.Add(Flow(Pod("eu-1", "shop", "cart-1", "cart"), Pod("us-1", "payments", "ledger-7", "ledger")));

        Assert.Equal("eu-1", attribution.Vote.Local);
        Assert.Equal("us-1", attribution.Of(new FindingSubject(Namespace: "payments", Pod: "ledger-7")));
        Assert.Equal("us-1", attribution.Of(new FindingSubject(Namespace: "payments", Workload: "ledger")));
        Assert.Equal("prod-eu", attribution.Of(new FindingSubject(Namespace: "shop", Workload: "cart")));
        Assert.Equal("prod-eu", attribution.Of(new FindingSubject(Namespace: "payments", Pod: "ledger-8")));
        Assert.Equal("prod-eu", attribution.Of(new FindingSubject(Ip: "10.0.0.1", Node: "n1")));
    }

    [Fact]
    public void FlowsWithoutClusterNames_LeaveEveryFindingInTheLocalCluster()
    {
        var attribution = new ClusterAttribution("default");
        attribution.Add(Flow(Pod("", "shop", "cart-1", "cart"), Pod("", "payments", "ledger-7", "ledger")));
        Assert.Equal("", attribution.Vote.Local);
        Assert.Equal("default", attribution.Of(new FindingSubject(Namespace: "payments", Pod: "ledger-7")));
    }

    /// <summary>Raises one finding about the destination pod of each flow.</summary>
    private sealed class AboutDestination : IDetector
    {
        public string Name => "about-destination";
        public void Dispose() { }
        public IObservable<Finding> Attach(DetectorContext context) =>
            context.Flows.Select(f => new Finding($"dns_drops/{f.Destination.Namespace}/{f.Destination.Workload}", FindingKind.DnsDrops,
                Severity.Warning, FindingState.Open, new FindingSubject(Namespace: f.Destination.Namespace, Workload: f.Destination.Workload),
                new Dictionary<string, long>(), f.Time, f.Time, "s", []));
    }

    [Fact]
    public void ThroughThePipeline_TheBookStampsEachFindingWithItsSubjectsCluster()
    {
        var attribution = new ClusterAttribution("prod-eu");
        using var pipeline = new FlowPipeline([new AboutDestination()], PromMetrics.WithCustomRegistry(PromMetrics.NewCustomRegistry()), [attribution]);
        pipeline.Book.Cluster = "prod-eu";
        pipeline.Book.Attribute = attribution.Of;
        var seen = new List<Finding>();
        using var _ = pipeline.Findings.Subscribe(seen.Add);
        for (var i = 0; i < 5; i++) pipeline.Process(Flow(Pod("eu-1", "web", $"frontend-{i}", "frontend"), Pod("eu-1", "shop", "cart-1", "cart"), i));
        pipeline.Process(Flow(Pod("eu-1", "web", "frontend-1", "frontend"), Pod("us-1", "payments", "ledger-7", "ledger"), 6));
        pipeline.Flush();

        Assert.Equal("prod-eu", pipeline.Book.OpenFindings.Single(f => f.Id == "dns_drops/shop/cart").Cluster);
        Assert.Equal("us-1", pipeline.Book.OpenFindings.Single(f => f.Id == "dns_drops/payments/ledger").Cluster);
        Assert.Equal("us-1", seen.Last().Cluster);
    }
}
