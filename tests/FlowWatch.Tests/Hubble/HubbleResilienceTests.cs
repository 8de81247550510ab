using System.Diagnostics;
using FlowWatch.Hubble;
using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Simulation;
using Grpc.Core;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Hubble;

/// <summary>The client survives what real Relays do: restarts, stalls, error statuses, garbage and lost events.</summary>
public sealed class HubbleResilienceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ServerRestart_ResumesWithoutLosingOrRepeatingAFlow()
    {
        var cluster = new SimulatedCluster(seed: 5, nodes: 3);
        var ring = new FlowRing(1 << 17, cluster.Nodes.Select(n => n.Name).ToList());
        var feed = new SimulatorFeed(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 5000 }, cluster, ring);
        await feed.StartAsync(CancellationToken.None);
        var first = new ObserverServer(new() { Simulator = (cluster, ring) });
        await first.StartAsync(CancellationToken.None);
        // Default backoff (200 ms doubling), so the recovery time measured is the one users get.
        await using var client = new ClientHarness(first.PlainTarget, new HubbleClientOptions { StatusPollInterval = TimeSpan.Zero });
        await client.Until(() => client.Source.Received >= 2000, "2,000 flows before the restart");

        await first.StopAsync();
        var stopped = Stopwatch.StartNew();
        // The "agents" keep producing while the Relay is away; the ring still holds all of it.
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            await ring.WaitForAsync(ring.Next + 2000, wait.Token);
        var receivedAtRestart = client.Source.Received;
        await using var second = new ObserverServer(new() { Port = first.Port, Simulator = (cluster, ring) });
        await second.StartAsync(CancellationToken.None);
        var restarted = Stopwatch.StartNew();
        await client.Until(() => client.Source.Received > receivedAtRestart, "a flow after the restart");
        var recovery = restarted.Elapsed;
        var outage = stopped.Elapsed;

        await feed.StopAsync(CancellationToken.None);
        var entries = new List<FlowRing.Entry>();
        for (var cursor = ring.Oldest; cursor < ring.Next;) (_, cursor) = ring.Read(cursor, entries, 4096);
        var flows = entries.Where(e => e.Message.Flow is not null).Select(e => e.Message.Flow.Uuid).ToList();
        var lastUuid = flows[^1];
        await client.Until(() => client.Counts.ContainsKey(lastUuid), "the last buffered flow");

        var firstReceived = client.Flows.First().Uuid;
        var expected = flows.SkipWhile(u => u != firstReceived).ToList();
        Assert.NotEmpty(expected);
        var missing = expected.Where(u => !client.Counts.ContainsKey(u)).ToList();
        var twice = client.Counts.Where(kv => kv.Value > 1).Select(kv => kv.Key).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {expected.Count} buffered flows never arrived, e.g. {string.Join(", ", missing.Take(3))}");
        Assert.True(twice.Count == 0, $"{twice.Count} flows were handed on twice");
        // Resuming by time can also bring flows the first stream (which followed from "now") never asked for: ones
        // appended just before it started with a time inside the overlap. They must at least be real buffered flows.
        var buffered = flows.ToHashSet();
        Assert.All(client.Counts.Keys, u => Assert.Contains(u, buffered));
        var extra = client.Counts.Count - expected.Count;
        Assert.True(client.Source.DuplicatesSkipped > 0, "the resume overlap resent nothing, so de-duplication was not exercised");
        Assert.True(client.Source.Streams >= 2);
        output.WriteLine($"restart: outage {outage.TotalMilliseconds:N0} ms, first flow {recovery.TotalMilliseconds:N0} ms after the server was back; " +
                         $"{expected.Count:N0} flows, {client.Source.DuplicatesSkipped:N0} overlap duplicates dropped, {client.Source.Streams} streams, {extra} flows from before the first stream's start");
    }

    [Fact]
    public async Task StalledStream_IsAbandonedAfterTheIdleTimeout_AndReopened()
    {
        await using var server = new ObserverServer(new()
        {
            RawGetFlows = async (call, ctx) =>
            {
                RawGrpc.Begin(ctx);
                for (var i = (call - 1) * 10; i < call * 10; i++) await RawGrpc.SendAsync(ctx, RawGrpc.Flow(i));
                await RawGrpc.HoldAsync(ctx); // open and silent: only the idle deadline notices
            },
        });
        await server.StartAsync(CancellationToken.None);
        await using var client = new ClientHarness(server.PlainTarget, ClientHarness.Fast with { IdleTimeout = TimeSpan.FromMilliseconds(400) });
        await client.Until(() => client.Source.Received >= 20, "the second stream's flows");
        Assert.True(client.Source.Stalls >= 1);
        Assert.True(client.Metrics.Stalls.WithLabels(client.Source.Target).Value >= 1);
        Assert.StartsWith("no message for", client.Source.LastError);
        Assert.All(Enumerable.Range(0, 20), i => Assert.Equal(1, client.Counts[$"flow-{i}"]));
    }

    [Fact]
    public async Task ErrorStatuses_AreRetried_AndTheStreamContinues()
    {
        await using var server = new ObserverServer(new()
        {
            RawGetFlows = async (call, ctx) =>
            {
                RawGrpc.Begin(ctx);
                if (call == 1) { RawGrpc.End(ctx, StatusCode.Unavailable, "relay has no peers yet"); return; }
                if (call == 2) { RawGrpc.End(ctx, StatusCode.Internal, "boom"); return; }
                for (var i = 0; i < 5; i++) await RawGrpc.SendAsync(ctx, RawGrpc.Flow(i));
                await RawGrpc.HoldAsync(ctx);
            },
        });
        await server.StartAsync(CancellationToken.None);
        await using var client = new ClientHarness(server.PlainTarget);
        await client.Until(() => client.Source.Received == 5 && client.Source.Connection == HubbleConnectionState.Connected, "5 flows on the third call");
        Assert.Equal(3, client.Source.Streams);
        Assert.Equal(0, client.Source.BadMessages);
        Assert.Equal(2, client.Metrics.Reconnects.WithLabels(client.Source.Target).Value);
    }

    [Fact]
    public async Task GarbageFrame_IsCountedAsBadInput_AndSkipped_WithoutEndingTheStream()
    {
        await using var server = new ObserverServer(new()
        {
            RawGetFlows = async (call, ctx) =>
            {
                RawGrpc.Begin(ctx);
                for (var i = 0; i < 5; i++) await RawGrpc.SendAsync(ctx, RawGrpc.Flow(i));
                await RawGrpc.SendAsync(ctx, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]); // a varint that never ends
                await RawGrpc.SendAsync(ctx, [0x0A, 0x7F, 0x01]); // a flow field claiming 127 bytes of 1
                for (var i = 5; i < 10; i++) await RawGrpc.SendAsync(ctx, RawGrpc.Flow(i));
                await RawGrpc.HoldAsync(ctx);
            },
        });
        await server.StartAsync(CancellationToken.None);
        await using var client = new ClientHarness(server.PlainTarget);
        await client.Until(() => client.Source.Received == 10, "10 flows around the garbage");
        Assert.Equal(2, client.Source.BadMessages);
        Assert.Equal(2, client.Metrics.BadInput.WithLabels("grpc").Value);
        Assert.Equal(1, client.Source.Streams);
        Assert.Equal(HubbleConnectionState.Connected, client.Source.Connection);
        Assert.NotNull(client.Source.LastBadMessage);
        Assert.All(Enumerable.Range(0, 10), i => Assert.Equal(1, client.Counts[$"flow-{i}"]));
    }

    [Fact]
    public async Task ServerEndingTheStream_IsResumed_AndTheOverlapIsDroppedByUuid()
    {
        await using var server = new ObserverServer(new()
        {
            RawGetFlows = async (call, ctx) =>
            {
                RawGrpc.Begin(ctx);
                if (call == 1)
                {
                    for (var i = 0; i < 5; i++) await RawGrpc.SendAsync(ctx, RawGrpc.Flow(i));
                    RawGrpc.End(ctx, StatusCode.OK);
                    return;
                }
                // Like a Relay honouring since: the overlap (0..4) comes again, then new flows.
                for (var i = 0; i < 10; i++) await RawGrpc.SendAsync(ctx, RawGrpc.Flow(i));
                await RawGrpc.HoldAsync(ctx);
            },
        });
        await server.StartAsync(CancellationToken.None);
        await using var client = new ClientHarness(server.PlainTarget);
        await client.Until(() => client.Source.Received == 10 && client.Source.DuplicatesSkipped == 5, "10 distinct flows, 5 resent skipped");
        Assert.Equal(2, client.Source.Streams);
        Assert.Equal(10, client.Counts.Count);
        Assert.All(client.Counts.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task LostEvents_AreCountedBySource()
    {
        await using var server = new ObserverServer(new()
        {
            RawGetFlows = async (call, ctx) =>
            {
                RawGrpc.Begin(ctx);
                await RawGrpc.SendAsync(ctx, RawGrpc.Lost(LostEventSource.PerfEventRingBuffer, 5));
                await RawGrpc.SendAsync(ctx, RawGrpc.Flow(0));
                await RawGrpc.SendAsync(ctx, RawGrpc.Lost(LostEventSource.HubbleRingBuffer, 7));
                await RawGrpc.SendAsync(ctx, RawGrpc.Lost(LostEventSource.PerfEventRingBuffer, 3));
                await RawGrpc.SendAsync(ctx, RawGrpc.Flow(1));
                await RawGrpc.HoldAsync(ctx);
            },
        });
        await server.StartAsync(CancellationToken.None);
        await using var client = new ClientHarness(server.PlainTarget);
        await client.Until(() => client.Source.Received == 2, "both flows");
        Assert.Equal(15ul, client.Source.LostEvents);
        Assert.Equal(8ul, client.Source.LostEventsBySource["PERF_EVENT_RING_BUFFER"]);
        Assert.Equal(7ul, client.Source.LostEventsBySource["HUBBLE_RING_BUFFER"]);
        Assert.Equal(8, client.Metrics.LostEvents.WithLabels("PERF_EVENT_RING_BUFFER").Value);
        Assert.Equal(7, client.Metrics.LostEvents.WithLabels("HUBBLE_RING_BUFFER").Value);
        Assert.Equal(0, client.Metrics.LostEvents.WithLabels("OBSERVER_EVENTS_QUEUE").Value);
    }
}
