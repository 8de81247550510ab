using FlowWatch.Tests.Support;
using System.Collections.Concurrent;
using FlowWatch.Cli.Commands;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Hubble;
using FlowWatch.Simulation;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Pipeline;

/// <summary>A FlowWatch restarted from its checkpoint against a still-running Hubble (the simulator over loopback gRPC):
/// no gap, no double count, open findings stay open with their first-seen time.</summary>
public sealed class CheckpointRestartTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-restart-").FullName;

    /// <summary>Counts every flow the pipeline processed, by uuid, across both runs.</summary>
    private sealed class UuidCounter : FlowWatch.Pipeline.IFlowSink
    {
        public ConcurrentDictionary<string, int> Counts { get; } = new();
        public void Add(FlowRecord flow) => Counts.AddOrUpdate(flow.Uuid, 1, (_, n) => n + 1);
    }

    private static async Task Until(Func<bool> condition, string what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"within {seconds} s: {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task RestartFromCheckpoint_NoGapNoDoubleCount_FindingStaysOpenWithItsFirstSeen()
    {
        await using var sim = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 2000, Scenarios = ScenarioSet.All });
        await sim.StartAsync();
        var target = sim.Address.ToString().TrimEnd('/');
        var checkpoint = Path.Combine(_dir, "checkpoint.json");
        var counter = new UuidCounter();
        var hubble = new HubbleClientOptions { StatusPollInterval = TimeSpan.Zero };
        FlowWatchRuntime? runtime = null;
        WatcherSettings Settings() => new()
        {
            CheckpointPath = checkpoint,
            CheckpointEvery = TimeSpan.FromSeconds(1),
            ExtraSinks = [counter],
            Started = r => runtime = r,
        };

        // Run #1: follow until the DNS finding is open, then stop as SIGTERM would.
        using var stop1 = new CancellationTokenSource();
        var run1 = WatchCommand.RunWatcherAsync(target, "127.0.0.1:0", TimeSpan.FromSeconds(5), sim.ClusterView(), stop1.Token, hubble, Settings());
        await Until(() => runtime?.Pipeline.Book.OpenFindings.Any(f => f.Kind == FindingKind.DnsDrops) == true, "a DNS finding in run #1");
        var first = runtime!;
        stop1.Cancel();
        Assert.Equal(0, await run1.WaitAsync(TimeSpan.FromSeconds(15)));
        var processed1 = first.Pipeline.Stats.Flows;
        var saved = FlowWatch.Pipeline.Checkpoint.Load(checkpoint);
        Assert.NotNull(saved);
        var finding = saved!.OpenFindings.First(f => f.Kind == FindingKind.DnsDrops);

        var processedByRun1 = counter.Counts.Keys.ToHashSet();

        // The "agents" go on while FlowWatch is away; Hubble's buffer keeps it.
        var downAt = sim.Ring.Next;
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15))) await sim.Ring.WaitForAsync(downAt + 2000, wait.Token);

        // Run #2 from the checkpoint.
        runtime = null;
        Finding? atStart = null;
        using var stop2 = new CancellationTokenSource();
        var settings2 = Settings() with
        {
            Started = r => { runtime = r; atStart = r.Pipeline.Book.OpenFindings.FirstOrDefault(f => f.Id == finding.Id); },
        };
        var run2 = WatchCommand.RunWatcherAsync(target, "127.0.0.1:0", TimeSpan.FromSeconds(5), sim.ClusterView(), stop2.Token, hubble, settings2);
        await Until(() => runtime is not null, "run #2 started");
        var second = runtime!;
        Assert.True(atStart is not null, $"finding {finding.Id} open in run #1 was not open when run #2 started");
        Assert.Equal(finding.FirstSeen, atStart!.FirstSeen);
        var resumeTarget = sim.Ring.Next;
        var entries = new List<FlowRing.Entry>();
        sim.Ring.Read(resumeTarget - 1, entries, 1);
        var lastOfGap = entries[0].Message.Flow.Uuid;
        await Until(() => counter.Counts.ContainsKey(lastOfGap), "run #2 caught up with the flows buffered while FlowWatch was down");
        await Until(() => !second.Pipeline.Book.AwaitingDetector(finding.Id), "the DNS detector raised the restored finding again");
        var reRaised = second.Pipeline.Book.OpenFindings.Single(f => f.Id == finding.Id);
        Assert.Equal(finding.FirstSeen, reRaised.FirstSeen);
        stop2.Cancel();
        Assert.Equal(0, await run2.WaitAsync(TimeSpan.FromSeconds(15)));

        // Every buffered flow from where run #1's stream began (it followed from "now"; the first flow delivered is processed by
        // run #1) to run #2's last: processed exactly once.
        entries.Clear();
        for (var cursor = sim.Ring.Oldest; cursor < sim.Ring.Next;) (_, cursor) = sim.Ring.Read(cursor, entries, 4096);
        var ring = entries.Where(e => e.Message.Flow is not null).ToList();
        var firstIndex = ring.FindIndex(e => processedByRun1.Contains(e.Message.Flow.Uuid));
        var lastIndex = ring.FindLastIndex(e => counter.Counts.ContainsKey(e.Message.Flow.Uuid));
        Assert.True(firstIndex >= 0 && lastIndex > firstIndex);
        var span = ring.GetRange(firstIndex, lastIndex - firstIndex + 1);
        // Resumed from the newest processed minus the allowed lateness (which a short run #1 reaches before its first flow), run #2
        // may also be sent flows the Relay delivered before run #1 began: each must be one the resume point asked for.
        var since1 = saved.Resume![target].SinceNanos;
        var before = ring.Take(firstIndex).Where(e => counter.Counts.ContainsKey(e.Message.Flow.Uuid)).ToList();
        Assert.All(before, e => Assert.True(e.TimeNanos >= since1 && !processedByRun1.Contains(e.Message.Flow.Uuid),
            $"flow {e.Message.Flow.Uuid} delivered before run #1 began was processed, stamped {e.TimeNanos}, before the resume point {since1}"));
        // The simulator's stream is Relay-shaped: flows run #2 had not processed when it stopped (queued, or waiting for a lagging
        // node in the reorder stage) sit among processed ones in delivery order. They are not lost if run #2's checkpoint hands
        // them to the next run; every other flow of the span must have been processed.
        var unprocessed = span.Where(e => !counter.Counts.ContainsKey(e.Message.Flow.Uuid)).ToList();
        var missing = ResumeCoverage.NotCovered(FlowWatch.Pipeline.Checkpoint.Load(checkpoint)!, target, unprocessed);
        var twice = counter.Counts.Where(kv => kv.Value > 1).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {span.Count:N0} buffered flows never processed (gap), e.g. {string.Join(", ", missing.Take(3).Select(e => e.Message.Flow.Uuid))}; " +
            Where(missing, ring, saved, target, processed1));
        Assert.True(twice.Count == 0, $"{twice.Count} flows processed twice, e.g. {string.Join(", ", twice.Take(3).Select(kv => kv.Key))}");
        var outside = counter.Counts.Count - (span.Count - unprocessed.Count) - before.Count;
        Assert.True(outside == 0, $"{outside} flows processed that are not in the ring span");
        output.WriteLine($"restart: run #1 {processed1:N0} flows, run #2 {second.Pipeline.Stats.Flows:N0}; {span.Count:N0} buffered flows across both, " +
                         $"{resumeTarget - downAt:N0} appended while down; lost 0, processed twice 0, {unprocessed.Count} left for a next run by the checkpoint, {before.Count} delivered before run #1 began sent by the resume; finding {finding.Id} first seen {finding.FirstSeen:O} kept");
    }

    // Where the lost flows sit, so a failure says which stop (or resume) lost them: their place in the ring, their node, and how far
    // before the checkpoint's resume span they are stamped.
    private static string Where(List<FlowRing.Entry> missing, List<FlowRing.Entry> ring, FlowWatch.Pipeline.Checkpoint afterRun1, string source, long processed1)
    {
        var index = ring.Select((e, i) => (e, i)).ToDictionary(p => p.e.Message.Flow.Uuid, p => p.i);
        var since = afterRun1.Resume?.GetValueOrDefault(source)?.SinceNanos;
        return $"run #1 processed {processed1:N0}; run #1's resume span from {since}; lost: " + string.Join("; ", missing.Take(8).Select(e =>
            $"ring #{index[e.Message.Flow.Uuid]} node {e.Message.Flow.NodeName} stamped {(since is { } s ? $"{(e.TimeNanos - s) / 1e6:F0} ms after run #1's span start" : "?")}"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
