using System.Text.RegularExpressions;
using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Simulation;
using FlowWatch.Tests.Support;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Hubble.Conformance;

/// <summary>
/// The simulator's ring as Cilium's: once full, a query whose backward scan covers the whole ring (<c>--all</c>, a since
/// older than the ring) starts with one LostEvent (HUBBLE_RING_BUFFER, 1), and a query that stops inside it does not.
/// Checked with the real hubble CLI (its <c>-D</c> prints each LostEvent it receives) against the simulator and, for the
/// same queries, against hubble-refserver (Cilium v1.14's ring reader over Hubble's ring), each wrapped and not.
/// </summary>
public sealed partial class RingLostEventTests(ITestOutputHelper output)
{
    private const int SmallRing = 511;

    /// <summary>hubble observe arguments (@ns: a namespace the server's flows have), and whether a full ring starts the answer with a LostEvent.</summary>
    private static readonly (string Query, bool LostWhenFull)[] Queries =
    [
        ("--all", true),
        ("--all --namespace @ns", true),
        ("--since 2000-01-01T00:00:00Z", true),
        ("--last 10", false),
        ("--first 10", false),
        ("--last 10 --namespace @ns", false),
    ];

    [GeneratedRegex(@"unknown response type: &\{LostEvents:source:HUBBLE_RING_BUFFER +num_events_lost:(\d+)\}")]
    private static partial Regex LostLine();

    [SkippableFact]
    public async Task FullRing_StartsAWholeRingScanWithOneLostEvent_AsHubbleRefServerDoes()
    {
        TestPaths.RequireSharedBin();
        var files = TestPaths.CorpusFiles;
        Skip.If(files.Count == 0, TestPaths.CorpusMissing);
        var rows = new List<IReadOnlyList<string>>();
        var failures = new List<string>();
        await using var simFull = await Simulator(SmallRing);
        await using var simRoomy = await Simulator(4096);
        Assert.True(simFull.Ring.Overwritten > 0, "the small simulator ring did not wrap");
        Assert.Equal(0, simRoomy.Ring.Overwritten);
        var corpus = files.SelectMany(f => new[] { "--file", f }).ToArray();
        // 1,919 corpus flows: a 1,023 ring wraps, a 4,095 one does not.
        await using var refFull = await RefServer.StartAsync(null, ["--ring-size", "1023", .. corpus]);
        await using var refRoomy = await RefServer.StartAsync(null, ["--ring-size", "4095", .. corpus]);
        foreach (var (query, lostWhenFull) in Queries)
        {
            var row = new List<string> { query };
            foreach (var (name, server, ns, full) in new[]
            {
                ("simulator full", Server(simFull), "shop", true), ("simulator not full", Server(simRoomy), "shop", false),
                ("refserver full", refFull.Listen, "bookinfo", true), ("refserver not full", refRoomy.Listen, "bookinfo", false),
            })
            {
                var args = query.Replace("@ns", ns).Split(' ');
                var r = (await HubbleCli.RunAsync(["observe", "--server", server, "-o", "jsonpb", "-D", .. args], TimeSpan.FromSeconds(60))).Ok();
                var lost = LostLine().Matches(r.Stderr).Select(m => ulong.Parse(m.Groups[1].Value)).ToList();
                var expected = full && lostWhenFull ? 1 : 0;
                row.Add($"{lost.Count} lost, {r.Flows.Count} flows");
                if (lost.Count != expected || lost.Any(n => n != 1))
                    failures.Add($"{name} {query}: hubble printed {lost.Count} LostEvent(s) [{string.Join(",", lost)}], expected {expected} with num_events_lost 1");
                if (r.Flows.Count == 0) failures.Add($"{name} {query}: no flows: the query proves nothing");
            }
            rows.Add(row);
        }
        output.WriteLine(EquivalenceFilters.Table(["hubble observe", "simulator full", "simulator not full", "refserver full", "refserver not full"], rows));
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task FullRing_WholeRingScan_FirstMessageIsTheLostEvent_ThenEveryHeldFlowOldestFirst()
    {
        await using var sim = await Simulator(SmallRing);
        using var channel = GrpcChannel.ForAddress(sim.Address);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var held = new List<FlowRing.Entry>();
        sim.Ring.Read(sim.Ring.Oldest, held, SmallRing);
        using var call = new Observer.ObserverClient(channel).GetFlows(new GetFlowsRequest { Number = ulong.MaxValue }, cancellationToken: timeout.Token);
        var got = new List<GetFlowsResponse>();
        await foreach (var r in call.ResponseStream.ReadAllAsync(timeout.Token)) got.Add(r);
        Assert.Equal(GetFlowsResponse.ResponseTypesOneofCase.LostEvents, got[0].ResponseTypesCase);
        Assert.Equal(LostEventSource.HubbleRingBuffer, got[0].LostEvents.Source);
        Assert.Equal(1ul, got[0].LostEvents.NumEventsLost);
        Assert.Equal(held.Select(e => e.Message.Flow.Uuid), got.Skip(1).Select(r => r.Flow.Uuid));

        // Stopping inside the ring (the 10th newest) sends no LostEvent.
        using var last = new Observer.ObserverClient(channel).GetFlows(new GetFlowsRequest { Number = 10 }, cancellationToken: timeout.Token);
        var newest = new List<GetFlowsResponse>();
        await foreach (var r in last.ResponseStream.ReadAllAsync(timeout.Token)) newest.Add(r);
        Assert.Equal(held.TakeLast(10).Select(e => e.Message.Flow.Uuid), newest.Select(r => r.Flow?.Uuid));
    }

    [Fact]
    public async Task RingNotYetFull_WholeRingScan_SendsNoLostEvent()
    {
        await using var sim = await Simulator(4096);
        using var channel = GrpcChannel.ForAddress(sim.Address);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var call = new Observer.ObserverClient(channel).GetFlows(new GetFlowsRequest { Number = ulong.MaxValue }, cancellationToken: timeout.Token);
        var got = new List<GetFlowsResponse>();
        await foreach (var r in call.ResponseStream.ReadAllAsync(timeout.Token)) got.Add(r);
        Assert.Equal(sim.Ring.Count, got.Count);
        Assert.All(got, r => Assert.Equal(GetFlowsResponse.ResponseTypesOneofCase.Flow, r.ResponseTypesCase));
    }

    private static string Server(SimulatorHost sim) => $"127.0.0.1:{sim.EndPoint!.Port}";

    // A simulator whose clock the test holds: one step of 1.5 s of traffic (about 1,500 flows, written in one tick),
    // then nothing more, so every query sees the same ring.
    private static async Task<SimulatorHost> Simulator(int ring)
    {
        var time = new HeldClock(DateTimeOffset.UtcNow);
        var sim = new SimulatorHost(new SimulatorOptions
        {
            Listen = "127.0.0.1:0", Nodes = 3, FlowsPerSecond = 1_000, BufferSize = ring, Scenarios = ScenarioSet.None, Seed = 5,
            // Sorted: the ring must hold the whole step once the one tick is written; a Relay-shaped stream holds a lagging
            // node's flows back until the clock moves on, which this held clock never does.
            Shapes = TrafficShapes.None,
        }, time: time);
        await sim.StartAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // The generator reads its start time on its own thread (BackgroundService): advancing before it has would start it
        // after the step, and the held clock would never give it a flow (the ring stayed empty under a busy CI machine).
        await sim.Feed.Started.WaitAsync(deadline.Token);
        time.Advance(TimeSpan.FromSeconds(1.5));
        await sim.Ring.WaitForAsync(1_000, deadline.Token);
        return sim;
    }

    /// <summary>A clock that moves only when the test says (read by the simulator's generator on its own thread).</summary>
    private sealed class HeldClock(DateTimeOffset start) : TimeProvider
    {
        private long _ticks = start.UtcTicks;
        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
        public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);
    }
}
