using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Pipeline;
using FlowWatch.Simulation;
using FlowWatch.Tests.Simulation;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Pipeline;

/// <summary>A Relay-shaped stream (lagging nodes, packets seen on two nodes, policy verdicts) gives the findings of its sorted, singly observed twin.</summary>
/// <remarks>Deterministic: the simulator's seeded generator in event time, no wall clock.</remarks>
public sealed class RelayShapedStreamTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(120);

    public static TheoryData<string> Scenarios => new() { "none", "dns-drops", "duplicate-ip", "asymmetric", "nodeport-backend", "node-collapse", "all" };

    private sealed record Run(List<string> Findings, FlowPipeline Pipeline, int OutOfStampOrder, OrderProbe Order)
    {
        public bool DeliveredInOrder => Order.InOrder;
    }

    /// <summary>Every message of the stream through a pipeline with every detector, then drained; the final state of each finding.</summary>
    private static Run Replay(string scenario, TrafficShapes shapes, EventTimeOptions? time = null)
    {
        var set = ScenarioSet.Parse(scenario);
        var generator = new TrafficGenerator(7, 5, set, 1_000) { Shapes = shapes };
        var order = new OrderProbe();
        var pipeline = new FlowPipeline(DetectorSet.Create(DetectorSettings.Default),
            Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()), [order], time);
        var findings = new List<Finding>();
        pipeline.Findings.Subscribe(findings.Add);
        pipeline.Start(SimFlows.Start);
        // The cluster view names every node's Cilium agent, so a node that lags from the very first flow is waited for.
        foreach (var change in generator.Cluster.ClusterView(set, SimFlows.Start)) pipeline.Apply(change);
        var converter = new FlowConverter(new StringPool());
        long previous = 0;
        var outOfOrder = 0;
        foreach (var response in generator.Generate(SimFlows.Start, Duration))
        {
            if (response.Flow is null) continue;
            var flow = converter.Convert(response.Flow, response.NodeName);
            if (flow.TimeNanos < previous) outOfOrder++;
            previous = Math.Max(previous, flow.TimeNanos);
            pipeline.Process(flow);
        }
        pipeline.Flush();
        pipeline.AdvanceBy(TimeSpan.FromMinutes(1));
        var final = findings.GroupBy(f => f.Id).Select(g => g.Last())
            .Select(f => $"{Finding.KindName(f.Kind)} {f.Severity} {f.Subject}")
            .OrderBy(s => s, StringComparer.Ordinal).ToList();
        return new Run(final, pipeline, outOfOrder, order);
    }

    private sealed class OrderProbe : IFlowSink
    {
        private FlowRecord? _newest;
        public bool InOrder => FirstDisorder is null;
        public int Disorders { get; private set; }

        /// <summary>The first flow the detectors saw after a newer one, and that newer one, for the failure message.</summary>
        public string? FirstDisorder { get; private set; }

        public void Add(FlowRecord flow)
        {
            if (_newest is not null && flow.TimeNanos < _newest.TimeNanos)
            {
                Disorders++;
                FirstDisorder ??= $"{Describe(flow)} after {Describe(_newest)}";
            }
            if (_newest is null || flow.TimeNanos > _newest.TimeNanos) _newest = flow;
        }

        private static string Describe(FlowRecord f) =>
            $"[{f.Time:HH:mm:ss.ffffff} {f.NodeName} {f.ObservationPoint} {f.SourceIp}:{f.SourcePort}->{f.DestinationIp}:{f.DestinationPort} {f.TcpFlags} ev{f.EventType}]";
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void RelayShapedStream_GivesTheFindingsOfItsSortedSinglyObservedTwin(string scenario)
    {
        var twin = Replay(scenario, TrafficShapes.None);
        var shaped = Replay(scenario, TrafficShapes.Relay);
        using (twin.Pipeline)
        using (shaped.Pipeline)
        {
            output.WriteLine($"{scenario}: twin {twin.Pipeline.Stats.Flows:N0} flows, shaped {shaped.Pipeline.Stats.Flows:N0} " +
                             $"({shaped.OutOfStampOrder:N0} arrived behind a newer stamp); {shaped.Findings.Count} findings");
            foreach (var f in shaped.Findings) output.WriteLine("  " + f);

            // The shaped stream really is shaped: more flows (second observations, verdicts) and many out of stamp order.
            Assert.True(twin.OutOfStampOrder == 0, $"the twin is not sorted: {twin.OutOfStampOrder} flows out of order");
            Assert.True(shaped.Pipeline.Stats.Flows > twin.Pipeline.Stats.Flows * 11 / 10,
                $"shaped {shaped.Pipeline.Stats.Flows} flows vs twin {twin.Pipeline.Stats.Flows}: no double observation?");
            Assert.True(shaped.OutOfStampOrder > shaped.Pipeline.Stats.Flows / 100,
                $"only {shaped.OutOfStampOrder} of {shaped.Pipeline.Stats.Flows} flows arrived out of order: no node lag?");

            // The reorder stage put every lagging node's flow back in order: none late, none forced, none out of order.
            Assert.True(shaped.DeliveredInOrder, $"the detectors saw {shaped.Order.Disorders} flows out of event-time order " +
                $"({shaped.Pipeline.Reorder.OutOfOrder} behind the watermark, {shaped.Pipeline.Reorder.Forced} forced), first {shaped.Order.FirstDisorder}");
            Assert.Equal(0, shaped.Pipeline.Stats.Late);
            Assert.Equal(0, shaped.Pipeline.Reorder.Forced);
            Assert.Equal(0, shaped.Pipeline.Reorder.OutOfOrder);

            Assert.Equal(twin.Findings, shaped.Findings);
        }
    }

    [Fact]
    public void ANodeTenMinutesBehind_IsBadTime_AndEventTimeFollowsTheOthers()
    {
        var skewed = TrafficShapes.Relay with { ClockSkew = -TimeSpan.FromMinutes(10), SkewedNode = 2 };
        var generator = new TrafficGenerator(7, 5, ScenarioSet.None, 1_000) { Shapes = skewed };
        var batch = generator.Generate(SimFlows.Start, TimeSpan.FromSeconds(30)).Where(r => r.Flow is not null).ToList();
        var behind = batch.Count(r => r.NodeName == "sim-node-2");
        Assert.True(behind > 100, $"sim-node-2 sent only {behind} flows");

        using var pipeline = new FlowPipeline(DetectorSet.Create(DetectorSettings.Default),
            Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        pipeline.Start(SimFlows.Start);
        var converter = new FlowConverter(new StringPool());
        foreach (var r in batch) pipeline.Process(converter.Convert(r.Flow, r.NodeName));
        pipeline.Flush();

        Assert.Equal(behind, pipeline.Stats.FarPast);
        Assert.Equal(batch.Count, pipeline.Stats.Flows);
        Assert.InRange(pipeline.Now, SimFlows.Start.AddSeconds(28), SimFlows.Start.AddSeconds(30));
        Assert.Equal(0, pipeline.Stats.Late);
    }

    [Fact]
    public void WithoutTheReorderStage_TheSameStreamReachesTheDetectorsOutOfOrder()
    {
        // The control: allowed lateness 0 lets no node hold the watermark back, so the lag reaches the detectors as is.
        var run = Replay("none", TrafficShapes.Relay, EventTimeOptions.Default with { AllowedLateness = TimeSpan.Zero });
        using (run.Pipeline)
        {
            Assert.False(run.DeliveredInOrder);
            Assert.True(run.Pipeline.Reorder.OutOfOrder > 100, $"{run.Pipeline.Reorder.OutOfOrder} flows out of order");
        }
    }
}
