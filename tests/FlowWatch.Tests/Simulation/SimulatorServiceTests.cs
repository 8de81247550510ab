using Google.Protobuf;
using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Hubble.Proto.Relay;
using FlowWatch.Simulation;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace FlowWatch.Tests.Simulation;

/// <summary>A live simulator on 127.0.0.1, shared by the service tests; the buffer is large enough not to wrap during them.</summary>
public sealed class LiveSimulator : IAsyncLifetime
{
    public SimulatorHost Host { get; } = new(new SimulatorOptions
    {
        Listen = "127.0.0.1:0",
        Seed = 3,
        Nodes = 4,
        FlowsPerSecond = 2_000,
        Scenarios = ScenarioSet.All,
        BufferSize = 1 << 18,
        LostEventsPerSecond = 20,
    });

    public GrpcChannel Channel { get; private set; } = null!;
    public Observer.ObserverClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Host.StartAsync();
        Channel = GrpcChannel.ForAddress(Host.Address);
        Client = new Observer.ObserverClient(Channel);
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        await Host.DisposeAsync();
    }

    /// <summary>Waits (bounded) until the ring has received at least <paramref name="count"/> entries.</summary>
    public async Task WaitForEntries(long count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Host.Ring.WaitForAsync(count - 1, timeout.Token);
    }
}

public sealed class SimulatorServiceTests(LiveSimulator sim) : IClassFixture<LiveSimulator>
{
    private static CancellationToken Timeout(int seconds = 20) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    private static async Task<List<GetFlowsResponse>> Read(AsyncServerStreamingCall<GetFlowsResponse> call, int max, Func<GetFlowsResponse, bool>? counts = null)
    {
        var got = new List<GetFlowsResponse>();
        var counted = 0;
        await foreach (var r in call.ResponseStream.ReadAllAsync())
        {
            got.Add(r);
            if ((counts?.Invoke(r) ?? true) && ++counted >= max) break;
        }
        return got;
    }

    private static bool IsFlow(GetFlowsResponse r) => r.ResponseTypesCase == GetFlowsResponse.ResponseTypesOneofCase.Flow;

    private static long Nanos(Timestamp t) => t.Seconds * 1_000_000_000L + t.Nanos;

    [Fact]
    public async Task Follow_StreamsNewFlows_StampedNow_EachNodeInTimeOrder()
    {
        var before = DateTimeOffset.UtcNow;
        using var call = sim.Client.GetFlows(new GetFlowsRequest { Follow = true }, cancellationToken: Timeout());
        var got = await Read(call, 300, IsFlow);
        var flows = got.Where(IsFlow).ToList();
        Assert.Equal(300, flows.Count);
        var earliest = Nanos(Timestamp.FromDateTimeOffset(before.AddSeconds(-5)));
        var latest = Nanos(Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(1)));
        Assert.All(flows, f => Assert.InRange(Nanos(f.Time), earliest, latest));
        // As a Relay delivers them: nodes lag one another, each node's own flows keep their order.
        SimFlows.AssertRelayOrder(got, TrafficShapes.Relay.MaxNodeLag);
        Assert.All(flows, f => Assert.Matches("^sim-node-[1-4]$", f.NodeName));
    }

    [Fact]
    public async Task Number_SendsTheLastNOfTheBuffer_AndEnds()
    {
        await sim.WaitForEntries(3_000);
        var before = sim.Host.Ring.Next;
        var older = new List<FlowRing.Entry>();
        sim.Host.Ring.Read(before - 2_000, older, 1_800);
        using var call = sim.Client.GetFlows(new GetFlowsRequest { Number = 100 }, cancellationToken: Timeout());
        // As in Hubble, number counts flows; lost events in the stretch read pass the filters and are not counted.
        var got = (await Read(call, int.MaxValue)).Where(IsFlow).ToList();
        Assert.Equal(100, got.Count);
        var olderIds = older.Where(e => e.Message.Flow is not null).Select(e => e.Message.Flow.Uuid).ToHashSet();
        Assert.DoesNotContain(got.Where(IsFlow), r => olderIds.Contains(r.Flow.Uuid));
        SimFlows.AssertRelayOrder(got, TrafficShapes.Relay.MaxNodeLag);
    }

    [Fact]
    public async Task First_SendsTheOldestN()
    {
        await sim.WaitForEntries(100);
        var oldest = new List<FlowRing.Entry>();
        sim.Host.Ring.Read(sim.Host.Ring.Oldest, oldest, 10);
        using var call = sim.Client.GetFlows(new GetFlowsRequest { First = true, Number = 10 }, cancellationToken: Timeout());
        var got = await Read(call, int.MaxValue);
        Assert.Equal(oldest.Select(e => e.Message), got);
    }

    [Fact]
    public async Task SinceUntil_SendExactlyTheBufferedEntriesInTheRange()
    {
        await sim.WaitForEntries(4_000);
        var entries = new List<FlowRing.Entry>();
        sim.Host.Ring.Read(0, entries, 4_000);
        var since = entries[1_000].Message.Time;
        var until = entries[3_000].Message.Time;
        // Every flow stamped in the range, whichever node lagged, in the order the ring holds them (lost events and node status
        // between them pass unfiltered, as in Hubble, and are left out of the comparison).
        var last = entries.FindLastIndex(e => e.Message.Flow is not null && e.TimeNanos <= Nanos(until));
        var expected = entries.Take(last + 1).Where(e => e.Message.Flow is not null && e.TimeNanos >= Nanos(since) && e.TimeNanos <= Nanos(until))
            .Select(e => e.Message).ToList();
        using var call = sim.Client.GetFlows(new GetFlowsRequest { Since = since, Until = until }, cancellationToken: Timeout());
        var got = await Read(call, int.MaxValue);
        Assert.Equal(expected, got.Where(IsFlow));
    }

    [Fact]
    public async Task SinceWithFollow_StartsAtSince_AndKeepsGoing()
    {
        await sim.WaitForEntries(2_000);
        var entries = new List<FlowRing.Entry>();
        sim.Host.Ring.Read(0, entries, 2_000);
        var since = entries[500].Message.Time;
        var first = entries.First(e => e.Message.Flow is not null && e.TimeNanos >= Nanos(since)).Message;
        using var call = sim.Client.GetFlows(new GetFlowsRequest { Since = since, Follow = true }, cancellationToken: Timeout());
        var got = await Read(call, 3_000);
        Assert.Equal(first, got.First(IsFlow));
        Assert.DoesNotContain(got, r => IsFlow(r) && Nanos(r.Time) < Nanos(since));
        Assert.Equal(3_000, got.Count);
    }

    [Fact]
    public async Task NodeNameWhitelist_ShardsByNode()
    {
        var request = new GetFlowsRequest { Follow = true, Whitelist = { new FlowFilter { NodeName = { "sim-node-2" } } } };
        using var call = sim.Client.GetFlows(request, cancellationToken: Timeout());
        var got = await Read(call, 200, IsFlow);
        // Lost events bypass the filters, as in Hubble: only flows are sharded.
        Assert.All(got.Where(IsFlow), r => Assert.Equal("sim-node-2", r.NodeName));
    }

    [Fact]
    public async Task NodeNameFilters_OrAcrossFilters_GlobsClusterPrefixAndBlacklist()
    {
        await sim.WaitForEntries(3_000);
        async Task<HashSet<string>> Nodes(GetFlowsRequest request)
        {
            using var call = sim.Client.GetFlows(request, cancellationToken: Timeout());
            return (await Read(call, int.MaxValue)).Where(IsFlow).Select(r => r.NodeName).ToHashSet();
        }
        Assert.Equal(new HashSet<string> { "sim-node-1", "sim-node-3" }, await Nodes(new GetFlowsRequest
        {
            Number = 2_000,
            Whitelist = { new FlowFilter { NodeName = { "sim-node-1" } }, new FlowFilter { NodeName = { "default/sim-node-3" } } },
        }));
        Assert.Equal(4, (await Nodes(new GetFlowsRequest { Number = 2_000, Whitelist = { new FlowFilter { NodeName = { "sim-*" } } } })).Count);
        // As in Hubble: a node name without a cluster is in cluster "default", whatever the agent calls its cluster.
        Assert.Empty(await Nodes(new GetFlowsRequest { Number = 100, Whitelist = { new FlowFilter { NodeName = { "sim/sim-node-1" } } } }));
        Assert.Empty(await Nodes(new GetFlowsRequest { Number = 100, Whitelist = { new FlowFilter { NodeName = { "other-cluster/sim-node-1" } } } }));
        var withoutOne = await Nodes(new GetFlowsRequest { Number = 2_000, Blacklist = { new FlowFilter { NodeName = { "sim-node-1" } } } });
        Assert.Equal(3, withoutOne.Count);
        Assert.DoesNotContain("sim-node-1", withoutOne);
    }

    [Fact]
    public async Task VerdictAndPodFilters_AreHonoured()
    {
        await sim.WaitForEntries(3_000);
        var request = new GetFlowsRequest
        {
            Follow = true,
            Whitelist = { new FlowFilter { Verdict = { Verdict.Dropped }, SourcePod = { "shop/" } } },
        };
        using var call = sim.Client.GetFlows(request, cancellationToken: Timeout(30));
        var got = await Read(call, 4, IsFlow);
        Assert.Equal(4, got.Count(IsFlow));
        Assert.All(got.Where(IsFlow), r =>
        {
            Assert.Equal(Verdict.Dropped, r.Flow.Verdict);
            Assert.Equal("shop", r.Flow.Source.Namespace);
        });
    }

    [Fact]
    public async Task UnknownFilterField_IsRefused_NotIgnored()
    {
        // A FlowFilter field from a newer Cilium (http_url = 31) arrives as an unknown field: refused, naming it.
        var filter = new FlowFilter { DnsQuery = { "example" } };
        var bytes = filter.ToByteArray().Concat(new byte[] { 0xFA, 0x01, 1, (byte)'x' }).ToArray();
        using var call = sim.Client.GetFlows(new GetFlowsRequest
        {
            Number = 10,
            Whitelist = { FlowFilter.Parser.ParseFrom(bytes) },
        }, cancellationToken: Timeout());
        var e = await Assert.ThrowsAsync<RpcException>(() => Read(call, int.MaxValue));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("field number 31", e.Status.Detail);
    }

    [Fact]
    public async Task MalformedFilterValue_IsAnInvalidArgument_NamingTheField()
    {
        using var call = sim.Client.GetFlows(new GetFlowsRequest
        {
            Number = 10,
            Whitelist = { new FlowFilter { HttpStatusCode = { "6xx" } } },
        }, cancellationToken: Timeout());
        var e = await Assert.ThrowsAsync<RpcException>(() => Read(call, int.MaxValue));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("http_status_code", e.Status.Detail);
    }

    [Fact]
    public async Task FirstWithFollow_IsAnInvalidArgument()
    {
        using var call = sim.Client.GetFlows(new GetFlowsRequest { First = true, Follow = true }, cancellationToken: Timeout());
        var e = await Assert.ThrowsAsync<RpcException>(() => Read(call, int.MaxValue));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task GetNodes_OneConnectedNodePerSimulatedNode_WithCounts()
    {
        await sim.WaitForEntries(2_000);
        var nodes = (await sim.Client.GetNodesAsync(new GetNodesRequest(), cancellationToken: Timeout())).Nodes;
        Assert.Equal(new[] { "sim-node-1", "sim-node-2", "sim-node-3", "sim-node-4" }, nodes.Select(n => n.Name));
        Assert.All(nodes, n =>
        {
            Assert.Equal(NodeState.NodeConnected, n.State);
            Assert.Equal((ulong)(1 << 18), n.MaxFlows);
            Assert.True(n.NumFlows > 0 && n.SeenFlows >= n.NumFlows, $"{n.Name}: {n.NumFlows}/{n.SeenFlows}");
            Assert.True(n.UptimeNs > 0);
            Assert.StartsWith("10.0.0.", n.Address);
            Assert.False(string.IsNullOrEmpty(n.Version));
        });
    }

    [Fact]
    public async Task ServerStatus_ReportsTheBuffer()
    {
        await sim.WaitForEntries(1_000);
        var status = await sim.Client.ServerStatusAsync(new ServerStatusRequest(), cancellationToken: Timeout());
        Assert.True(status.NumFlows >= 1_000);
        Assert.Equal((ulong)(1 << 18), status.MaxFlows);
        Assert.True(status.SeenFlows >= status.NumFlows);
        Assert.True(status.UptimeNs > 0);
        Assert.Equal(4u, status.NumConnectedNodes);
        Assert.Equal(0u, status.NumUnavailableNodes);
        Assert.Equal(sim.Host.Options.Version, status.Version);
    }

    [Fact]
    public async Task InjectedLostEvents_ReachFollowers()
    {
        using var call = sim.Client.GetFlows(new GetFlowsRequest { Follow = true }, cancellationToken: Timeout());
        var got = await Read(call, 1, r => r.ResponseTypesCase == GetFlowsResponse.ResponseTypesOneofCase.LostEvents);
        var lost = got[^1].LostEvents;
        Assert.Equal(LostEventSource.PerfEventRingBuffer, lost.Source);
        Assert.True(lost.NumEventsLost > 0);
        Assert.Matches("^sim-node-[1-4]$", got[^1].NodeName);
    }
}
