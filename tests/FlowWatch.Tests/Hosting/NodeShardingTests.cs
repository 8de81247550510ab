using System.Collections.Concurrent;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Hubble;
using FlowWatch.Pipeline;
using FlowWatch.Simulation;
using FlowWatch.Tests.Detectors.Dns;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Hosting;

/// <summary>Sharding by node: two FlowWatch replicas, each given a subset of the nodes with <c>--node</c> (Hubble's node
/// filter, applied by the server), against one simulator, beside one replica that sees every node: disjoint flows whose
/// counts add up, and a finding both shards raise is one finding when their findings are merged by id.</summary>
public sealed class NodeShardingTests(ITestOutputHelper output)
{
    /// <summary>Every flow one replica processed: uuid → verdict.</summary>
    private sealed class Seen : IFlowSink
    {
        public ConcurrentDictionary<string, Verdict> Flows { get; } = new(StringComparer.Ordinal);
        public ConcurrentDictionary<string, string> Nodes { get; } = new(StringComparer.Ordinal);
        public void Add(FlowRecord flow)
        {
            Flows[flow.Uuid] = flow.Verdict;
            Nodes[flow.Uuid] = flow.NodeName;
        }
    }

    private sealed record Replica(string Name, FlowWatchRuntime Runtime, HubbleStreamSource Source, Seen Seen, Task Pump, Task Stream);

    private static Task Until(Func<bool> condition, string what, double seconds = 90) => Until(condition, () => what, seconds);

    private static async Task Until(Func<bool> condition, Func<string> what, double seconds = 90)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline) Assert.Fail($"within {seconds} s: {what()}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task TwoShards_SeeDisjointFlows_TheirCountsSumToTheUnshardedOnes_AndMergedByIdAFindingBothRaiseIsOne()
    {
        await using var sim = new SimulatorHost(new SimulatorOptions
        {
            Listen = "127.0.0.1:0", FlowsPerSecond = 1000, Scenarios = ScenarioSet.Parse("dns-drops,nodeport-backend"),
        });
        await sim.StartAsync();
        var since = FlowRecord.ToNanos(sim.StartedAt!.Value.AddSeconds(-5));
        using var stop = new CancellationTokenSource();
        var replicas = new List<Replica>();
        async Task<Replica> Start(string name, string[] nodes)
        {
            var seen = new Seen();
            var runtime = new FlowWatchRuntime(new RuntimeOptions { Listen = "127.0.0.1:0", ExtraSinks = [seen] }, NullLoggerFactory.Instance);
            foreach (var change in sim.ClusterView()) runtime.Intake.Write(change);
            var source = new HubbleStreamSource(sim.Address.ToString(), f => runtime.Intake.Write(f), runtime.Pipeline.Metrics,
                new HubbleClientOptions { Nodes = nodes, StatusPollInterval = TimeSpan.Zero });
            // Every replica asks for the whole buffer, so the three see the same span of the simulated cluster's traffic.
            source.StartFrom(since, []);
            await Task.CompletedTask;
            return new Replica(name, runtime, source, seen, runtime.RunAsync(live: true, stop.Token), source.RunAsync(stop.Token));
        }
        try
        {
            replicas.Add(await Start("all", []));
            replicas.Add(await Start("shard-1", ["sim-node-1", "sim-node-2", "sim-node-3"]));
            replicas.Add(await Start("shard-2", ["sim-node-4", "sim-node-5"]));
            var (all, one, two) = (replicas[0], replicas[1], replicas[2]);
            await Until(() => all.Runtime.Pipeline.Book.OpenFindings.Count >= 2 && all.Seen.Flows.Count > 5000, "two findings and 5,000 flows unsharded");

            // The cluster falls silent; every replica catches up with the same, now final, buffer.
            await sim.Feed.StopAsync(default);
            var ring = new List<FlowRing.Entry>();
            for (var cursor = sim.Ring.Oldest; cursor < sim.Ring.Next;) (_, cursor) = sim.Ring.Read(cursor, ring, 4096);
            var flows = ring.Where(e => e.Message.Flow is not null).Select(e => (e.Message.Flow.Uuid, e.Message.NodeName)).ToList();
            Assert.Equal(0, sim.Ring.Overwritten);
            bool InOne(string node) => node is "sim-node-1" or "sim-node-2" or "sim-node-3";
            var expectOne = flows.Where(f => InOne(f.NodeName)).Select(f => f.Uuid).ToHashSet();
            var expectTwo = flows.Where(f => !InOne(f.NodeName)).Select(f => f.Uuid).ToHashSet();
            Assert.NotEmpty(expectOne);
            Assert.NotEmpty(expectTwo);
            await Until(() => all.Seen.Flows.Count >= flows.Count && one.Seen.Flows.Count >= expectOne.Count && two.Seen.Flows.Count >= expectTwo.Count,
                $"every replica processed its flows (all {all.Seen.Flows.Count}/{flows.Count}, shard-1 {one.Seen.Flows.Count}/{expectOne.Count}, shard-2 {two.Seen.Flows.Count}/{expectTwo.Count})");

            Assert.Empty(one.Seen.Flows.Keys.Intersect(two.Seen.Flows.Keys));
            Assert.True(one.Seen.Flows.Keys.ToHashSet().SetEquals(expectOne), "shard-1 saw flows of other nodes, or missed some of its own");
            Assert.True(two.Seen.Flows.Keys.ToHashSet().SetEquals(expectTwo), "shard-2 saw flows of other nodes, or missed some of its own");
            Assert.True(all.Seen.Flows.Keys.ToHashSet().SetEquals(one.Seen.Flows.Keys.Concat(two.Seen.Flows.Keys)), "the shards together are not the unsharded flows");

            foreach (var verdict in new[] { "forwarded", "dropped" })
            {
                double Count(Replica r) => MetricText.Value(r.Runtime.Registry, "flowwatch_flows_total", ("verdict", verdict)) ?? 0;
                Assert.True(Count(all) > 0, $"no {verdict} flow counted");
                Assert.Equal(Count(all), Count(one) + Count(two));
                output.WriteLine($"flowwatch_flows_total{{verdict=\"{verdict}\"}}: unsharded {Count(all):N0} = shard-1 {Count(one):N0} + shard-2 {Count(two):N0}");
            }

            // Findings, exactly once: a shard raises a finding under the id the unsharded replica uses (never one naming the
            // shard or node), so merged by id (as the CLI's fleet view does) the shards give exactly the unsharded findings,
            // one each, with the evidence of their shares adding up to the whole.
            // Findings open on the detectors' evaluation ticks, which follow each replica's own event time (moved on by the
            // wall clock once the flows stop): wait until no shard holds a finding the unsharded replica has not raised.
            static string Evidence(Finding f) => string.Join(", ", f.Evidence.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}"));
            IReadOnlyList<Finding> Merged() => FindingMerge.MergeAll(one.Runtime.Pipeline.Book.All.Concat(two.Runtime.Pipeline.Book.All));
            HashSet<string> UnshardedIds() => all.Runtime.Pipeline.Book.All.Select(f => f.Id).ToHashSet();
            await Until(() => Merged().All(f => UnshardedIds().Contains(f.Id)),
                () => $"every shard's finding to be one the unsharded replica raised too (unsharded: {string.Join(", ", UnshardedIds().Order())}; " +
                      $"merged: {string.Join(", ", Merged().Select(f => f.Id).Order())})");

            // Exactly once: a finding both shards see part of is raised by each under the id the unsharded replica uses
            // (never one naming the shard or node), so merged by id (as the CLI's fleet view does) it is one finding.
            var unsharded = all.Runtime.Pipeline.Book.All;
            var copies = one.Runtime.Pipeline.Book.All.Concat(two.Runtime.Pipeline.Book.All).ToList();
            var merged = FindingMerge.MergeAll(copies);
            var both = copies.GroupBy(f => f.Id).Where(g => g.Count() > 1).Select(g => g.Key).Order().ToList();
            output.WriteLine($"findings: unsharded {unsharded.Count} [{string.Join(", ", unsharded.Select(f => f.Id).Order())}]; " +
                             $"shard-1 {one.Runtime.Pipeline.Book.All.Count}, shard-2 {two.Runtime.Pipeline.Book.All.Count}; " +
                             $"raised by both shards: {both.Count} [{string.Join(", ", both)}]; merged {merged.Count}");
            Assert.NotEmpty(both);
            Assert.Equal(merged.Count, merged.Select(f => (f.Cluster, f.Id)).Distinct().Count());
            Assert.All(both, id => Assert.Contains(id, unsharded.Select(f => f.Id)));
            foreach (var whole in unsharded)
            {
                var m = merged.SingleOrDefault(f => f.Id == whole.Id);
                // Thresholds judge each shard's share: evidence split under a threshold on every shard raises nothing (README).
                output.WriteLine($"  {whole.Id}: unsharded {whole.State} {whole.Severity} [{Evidence(whole)}]; " +
                                 (m is null ? "raised by no shard (its evidence split under the thresholds)" : $"merged {m.State} {m.Severity} [{Evidence(m)}]"));
                if (m is not null) Assert.Equal((whole.Kind, whole.Cluster), (m.Kind, m.Cluster));
            }
            // flowwatch_findings_raised_total is per replica: a finding that spans shards is raised by each of them.
            double Raised(Replica r) => MetricText.Value(r.Runtime.Registry, "flowwatch_findings_raised_total", ("kind", "dns_drops")) ?? 0;
            output.WriteLine($"flowwatch_findings_raised_total{{kind=\"dns_drops\"}}: unsharded {Raised(all)}, shard-1 {Raised(one)}, shard-2 {Raised(two)}");
        }
        finally
        {
            stop.Cancel();
            foreach (var r in replicas)
            {
                await r.Stream;
                await r.Pump;
                await r.Runtime.DisposeAsync();
            }
        }
    }
}
