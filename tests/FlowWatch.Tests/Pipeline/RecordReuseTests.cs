using FlowWatch.Detectors;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Pipeline;
using FlowWatch.Simulation;
using FlowWatch.Store;
using FlowWatch.Tests.Flows;
using FlowWatch.Tests.Simulation;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Tests.Pipeline;

/// <summary>Pooled records go back only when nothing holds them: not while the reorder stage does, not when a sink or detector
/// keeps them, and a pooled run (returned records poisoned) gives exactly the findings, store and counts of an unpooled one.</summary>
/// <remarks>Deterministic: the simulator's seeded generator, Relay-shaped (lagging nodes, double observations), in event time.</remarks>
public sealed class RecordReuseTests
{
    private static readonly ScenarioSet Scenarios = ScenarioSet.All;

    private static (List<byte[]> Messages, TrafficGenerator Generator) Stream(TimeSpan duration)
    {
        var generator = new TrafficGenerator(7, 5, Scenarios, 1_000) { Shapes = TrafficShapes.Relay };
        var messages = generator.Generate(SimFlows.Start, duration).Where(r => r.Flow is not null).Select(r => r.ToByteArray()).ToList();
        return (messages, generator);
    }

    private static Prometheus.IMetricFactory Metrics() => Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry());

    [Fact]
    public void TheBuiltInSinksAndDetectors_KeepNoRecords_SoTheRuntimeReturnsThem()
    {
        var dir = Directory.CreateTempSubdirectory("flowwatch-reuse-");
        try
        {
            var runtime = new FlowWatchRuntime(new RuntimeOptions { CheckpointPath = Path.Combine(dir.FullName, "cp.json") }, NullLoggerFactory.Instance);
            Assert.True(runtime.Pipeline.ReturnsRecords);
            Assert.NotNull(runtime.Records);
            Assert.Contains(runtime.Sinks, s => s is ResumeTracker);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void WhileTheReorderStageHoldsARecord_ItIsNotReturned()
    {
        var (messages, generator) = Stream(TimeSpan.FromSeconds(20));
        var pool = new FlowRecordPool(poisonReturned: true);
        var decoder = new FlowWireDecoder { Records = pool };
        var copies = new CopyingSink();
        var pipeline = new FlowPipeline(DetectorSet.Create(DetectorSettings.Default), Metrics(), [copies]);
        Assert.True(pipeline.ReturnsRecords);
        pipeline.Start(SimFlows.Start);
        foreach (var change in generator.Cluster.ClusterView(Scenarios, SimFlows.Start)) pipeline.Apply(change);
        var heldAtMost = 0;
        foreach (var message in messages)
        {
            pipeline.Process(decoder.Decode(message).Flow!);
            // Every record out on rent is one the reorder stage holds: fewer would mean one went back while held.
            Assert.Equal(pipeline.Reorder.Count, pool.Outstanding);
            heldAtMost = Math.Max(heldAtMost, pipeline.Reorder.Count);
        }
        pipeline.Flush();
        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(0, pool.Refused);
        Assert.True(heldAtMost > 100, $"the reorder stage held at most {heldAtMost} flows: the stream did not exercise it");
        Assert.True(pool.Reused > messages.Count * 9L / 10, $"{pool.Reused} of {messages.Count} rents reused a record");
        // What the sink saw, in order, is what an unpooled run delivers: held records were not overwritten while waiting.
        var plain = new CopyingSink();
        var reference = new FlowPipeline(DetectorSet.Create(DetectorSettings.Default), Metrics(), [plain]);
        reference.Start(SimFlows.Start);
        foreach (var change in generator.Cluster.ClusterView(Scenarios, SimFlows.Start)) reference.Apply(change);
        var unpooled = new FlowWireDecoder();
        foreach (var message in messages) reference.Process(unpooled.Decode(message).Flow!);
        reference.Flush();
        Assert.Equal(plain.Seen.Count, copies.Seen.Count);
        Assert.Equal(plain.Seen, copies.Seen);
    }

    [Fact]
    public void ASinkThatKeepsRecords_TurnsReturnsOff_AndItsRecordsStayIntact()
    {
        var (messages, _) = Stream(TimeSpan.FromSeconds(5));
        var pool = new FlowRecordPool(poisonReturned: true);
        var decoder = new FlowWireDecoder { Records = pool };
        var keeper = new KeepingSink();
        var pipeline = new FlowPipeline(DetectorSet.Create(DetectorSettings.Default), Metrics(), [new CopyingSink(), keeper]);
        Assert.False(pipeline.ReturnsRecords);
        foreach (var message in messages) pipeline.Process(decoder.Decode(message).Flow!);
        pipeline.Flush();
        Assert.Equal(0, pool.Returned);
        Assert.Equal(messages.Count, keeper.Kept.Count);
        var plain = new FlowWireDecoder();
        for (var i = 0; i < messages.Count; i += 97)
        {
            var expected = plain.Decode(messages[i]).Flow!;
            Assert.Contains(keeper.Kept, k => FlowRecordPoolTests.Describe(k) == FlowRecordPoolTests.Describe(expected));
        }
        Assert.DoesNotContain(keeper.Kept, k => k.NodeName == "(returned)");
    }

    [Fact]
    public void ADetectorThatDoesNotSayItKeepsNoRecords_TurnsReturnsOff()
    {
        var pipeline = new FlowPipeline([new SilentDetector()], Metrics(), [new CopyingSink()]);
        Assert.False(pipeline.ReturnsRecords);
        var runtimeLike = new FlowPipeline(DetectorSet.Create(DetectorSettings.Default), Metrics(), [new CopyingSink()]);
        Assert.True(runtimeLike.ReturnsRecords);
    }

    [Fact]
    public void ARecordRejectedForItsTime_IsReturnedAfterTheSinks()
    {
        var pool = new FlowRecordPool();
        var copies = new CopyingSink();
        var pipeline = new FlowPipeline([], Metrics(), [copies]);
        var decoder = new FlowWireDecoder { Records = pool };
        var (messages, _) = Stream(TimeSpan.FromSeconds(1));
        var flow = decoder.Decode(messages[0]).Flow!;
        pipeline.RejectBadTime(flow, BadTime.FarPast);
        Assert.Single(copies.Seen);
        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(1, pool.Returned);
    }

    /// <summary>The whole runtime (store, resume tracker, ingest health, every detector) over a Relay-shaped stream with every
    /// scenario, once with pooled records poisoned on return and once with a new record per flow: a holder that read a record
    /// after it went back would change a finding, a stored flow, the resume point or a count.</summary>
    [Fact]
    public void APooledRun_GivesTheFindingsStoreAndCountsOfAnUnpooledOne()
    {
        var (messages, generator) = Stream(TimeSpan.FromSeconds(90));
        var pooled = Run(messages, generator, pooled: true);
        var plain = Run(messages, generator, pooled: false);
        Assert.True(plain.Findings.Count > 5, $"only {plain.Findings.Count} finding events: the stream did not exercise the detectors");
        Assert.Equal(plain.Findings, pooled.Findings);
        Assert.Equal(plain.Stored.Count, pooled.Stored.Count);
        Assert.Equal(plain.Stored, pooled.Stored);
        Assert.Equal(plain.Counts, pooled.Counts);
        Assert.Equal(plain.Resume, pooled.Resume);
        Assert.NotNull(pooled.Pool);
        Assert.Equal(0, pooled.Pool!.Refused);
        Assert.Equal(0, pooled.Pool.Outstanding);
        Assert.True(pooled.Pool.Reused > messages.Count * 9L / 10, $"{pooled.Pool.Reused} of {messages.Count} rents reused a record");
    }

    private sealed record RunResult(List<string> Findings, List<StoredFlow> Stored, string Counts, string Resume, FlowRecordPool? Pool);

    private static RunResult Run(List<byte[]> messages, TrafficGenerator generator, bool pooled)
    {
        var dir = Directory.CreateTempSubdirectory("flowwatch-reuse-");
        try
        {
            var runtime = new FlowWatchRuntime(new RuntimeOptions { CheckpointPath = Path.Combine(dir.FullName, "cp.json") }, NullLoggerFactory.Instance);
            var pool = pooled ? new FlowRecordPool(poisonReturned: true) : null;
            Assert.True(runtime.Pipeline.ReturnsRecords);
            var decoder = new FlowWireDecoder { Records = pool, Origin = "sim" };
            var findings = new List<string>();
            using var sub = runtime.Pipeline.Findings.Subscribe(f =>
                findings.Add($"{f.Id} {f.State} {f.Severity} {f.Summary} {string.Join(",", f.Evidence.OrderBy(e => e.Key).Select(e => $"{e.Key}={e.Value}"))}"));
            runtime.Pipeline.Start(SimFlows.Start);
            foreach (var change in generator.Cluster.ClusterView(Scenarios, SimFlows.Start)) runtime.Pipeline.Apply(change);
            foreach (var message in messages) runtime.Pipeline.Process(decoder.Decode(message).Flow!);
            runtime.Pipeline.Flush();
            runtime.Pipeline.AdvanceBy(TimeSpan.FromMinutes(2));
            var stored = new List<StoredFlow>();
            long? before = null;
            while (true)
            {
                var page = runtime.Store.Query(new FlowQuery { Limit = FlowQuery.MaxLimit, Before = before });
                stored.AddRange(page.Flows);
                if (page.NextCursor is not { } next) break;
                before = next;
            }
            var stats = runtime.Pipeline.Stats;
            var counts = $"{stats.Flows} {stats.Late} {stats.FarPast} {stats.FarFuture} {stats.FirstEventNanos} {stats.LastEventNanos} " +
                string.Join(",", Enum.GetValues<Verdict>().Select(v => stats.ByVerdict(v))) + $" reorder {runtime.Pipeline.Reorder.Forced} {runtime.Pipeline.Reorder.OutOfOrder}";
            var (newest, ids, since, seen) = runtime.Sinks.OfType<ResumeTracker>().Single().Snapshot("sim");
            runtime.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return new RunResult(findings, stored, counts, $"{newest} {string.Join(",", ids.Order(StringComparer.Ordinal))} since {since} seen {string.Join(",", seen.Order())}", pool);
        }
        finally { dir.Delete(recursive: true); }
    }

    /// <summary>Copies what it reads (as the store does) and says so.</summary>
    private sealed class CopyingSink : IFlowSink
    {
        public List<string> Seen { get; } = [];
        public void Add(FlowRecord flow) => Seen.Add(FlowRecordPoolTests.Describe(flow));
        public bool KeepsRecords => false;
    }

    /// <summary>Keeps the records themselves, and (rightly) does not claim otherwise.</summary>
    private sealed class KeepingSink : IFlowSink
    {
        public List<FlowRecord> Kept { get; } = [];
        public void Add(FlowRecord flow) => Kept.Add(flow);
    }

    private sealed class SilentDetector : IDetector
    {
        public string Name => "silent";
        public IObservable<Finding> Attach(DetectorContext context) => System.Reactive.Linq.Observable.Empty<Finding>();
        public void Dispose() { }
    }
}
