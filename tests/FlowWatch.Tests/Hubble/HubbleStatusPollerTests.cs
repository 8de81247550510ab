using FlowWatch.Hubble;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Metrics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FlowWatch.Tests.Hubble;

public sealed class HubbleStatusPollerTests
{
    [Fact]
    public async Task OnAnAgent_WithoutGetNodes_CountsNodesFromServerStatus_AndComputesTheRate()
    {
        ulong seen = 10_000;
        var getNodesCalls = 0;
        await using var server = new ObserverServer(new()
        {
            RawGetFlows = (_, ctx) => { RawGrpc.Begin(ctx); RawGrpc.End(ctx, StatusCode.Unimplemented); return Task.CompletedTask; },
            MapRaw = app =>
            {
                app.MapPost("/observer.Observer/ServerStatus", async (HttpContext ctx) =>
                {
                    RawGrpc.Begin(ctx);
                    seen += 5_000;
                    await RawGrpc.SendAsync(ctx, new ServerStatusResponse
                    {
                        SeenFlows = seen, NumFlows = 4095, MaxFlows = 4095, NumConnectedNodes = 1, NumUnavailableNodes = 0, Version = "1.16.3",
                    }.ToByteArray());
                    RawGrpc.End(ctx, StatusCode.OK);
                });
                app.MapPost("/observer.Observer/GetNodes", (HttpContext ctx) =>
                {
                    Interlocked.Increment(ref getNodesCalls);
                    RawGrpc.Begin(ctx);
                    RawGrpc.End(ctx, StatusCode.Unimplemented, "agents do not serve GetNodes");
                    return Task.CompletedTask;
                });
            },
        });
        await server.StartAsync(CancellationToken.None);
        using var channel = GrpcChannel.ForAddress($"http://{server.PlainTarget}");
        var metrics = new PipelineMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var poller = new HubbleStatusPoller(new Observer.ObserverClient(channel), "agent", metrics, TimeSpan.FromSeconds(15));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        await poller.PollOnceAsync(timeout.Token);
        Assert.Null(poller.SeenFlowsPerSecond);
        await poller.PollOnceAsync(timeout.Token);

        Assert.Null(poller.LastError);
        Assert.Equal(2, poller.Polls);
        Assert.Equal(1, getNodesCalls); // asked once, then remembered as unimplemented
        Assert.Equal(1, poller.NodesByState["connected"]);
        Assert.Equal(20_000ul, poller.SeenFlows);
        Assert.True(poller.SeenFlowsPerSecond > 0);
        Assert.Equal("1.16.3", poller.Version);
        Assert.Equal(1, metrics.HubbleNodes.WithLabels("agent", "connected").Value);
        Assert.Equal(20_000, metrics.HubbleFlowRate.WithLabels("agent").Value);
        Assert.Equal(poller.SeenFlowsPerSecond!.Value, metrics.HubbleSeenFlowsRate.WithLabels("agent").Value);
    }

    [Fact]
    public async Task AFailedPoll_IsRemembered_AndDoesNotThrow()
    {
        await using var server = new ObserverServer(new()
        {
            RawGetFlows = (_, ctx) => Task.CompletedTask,
            MapRaw = app => app.MapPost("/observer.Observer/ServerStatus", (HttpContext ctx) =>
            {
                RawGrpc.Begin(ctx);
                RawGrpc.End(ctx, StatusCode.Unavailable, "relay not ready");
                return Task.CompletedTask;
            }),
        });
        await server.StartAsync(CancellationToken.None);
        using var channel = GrpcChannel.ForAddress($"http://{server.PlainTarget}");
        var metrics = new PipelineMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var poller = new HubbleStatusPoller(new Observer.ObserverClient(channel), "relay", metrics, TimeSpan.FromSeconds(15));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await poller.PollOnceAsync(timeout.Token);
        Assert.Equal("Unavailable: relay not ready", poller.LastError);
        Assert.Equal(0, poller.Polls);
    }

    [Fact]
    public async Task OnARelay_TellsWhichNodesJoinedAndWhichLeft_OnlyWhenTheListChanges()
    {
        var answers = new Queue<(string Name, FlowWatch.Hubble.Proto.Relay.NodeState State)[]>([
            [("n1", FlowWatch.Hubble.Proto.Relay.NodeState.NodeConnected), ("n2", FlowWatch.Hubble.Proto.Relay.NodeState.NodeConnected)],
            [("n1", FlowWatch.Hubble.Proto.Relay.NodeState.NodeConnected), ("n2", FlowWatch.Hubble.Proto.Relay.NodeState.NodeUnavailable),
             ("n3", FlowWatch.Hubble.Proto.Relay.NodeState.NodeConnected)],
            [("n1", FlowWatch.Hubble.Proto.Relay.NodeState.NodeConnected), ("n2", FlowWatch.Hubble.Proto.Relay.NodeState.NodeUnavailable),
             ("n3", FlowWatch.Hubble.Proto.Relay.NodeState.NodeConnected)],
        ]);
        await using var server = new ObserverServer(new()
        {
            RawGetFlows = (_, ctx) => { RawGrpc.Begin(ctx); RawGrpc.End(ctx, StatusCode.Unimplemented); return Task.CompletedTask; },
            MapRaw = app =>
            {
                app.MapPost("/observer.Observer/ServerStatus", async (HttpContext ctx) =>
                {
                    RawGrpc.Begin(ctx);
                    await RawGrpc.SendAsync(ctx, new ServerStatusResponse { SeenFlows = 1, Version = "1.16.3" }.ToByteArray());
                    RawGrpc.End(ctx, StatusCode.OK);
                });
                app.MapPost("/observer.Observer/GetNodes", async (HttpContext ctx) =>
                {
                    RawGrpc.Begin(ctx);
                    var reply = new GetNodesResponse();
                    foreach (var (name, state) in answers.Dequeue()) reply.Nodes.Add(new Node { Name = name, State = state });
                    await RawGrpc.SendAsync(ctx, reply.ToByteArray());
                    RawGrpc.End(ctx, StatusCode.OK);
                });
            },
        });
        await server.StartAsync(CancellationToken.None);
        using var channel = GrpcChannel.ForAddress($"http://{server.PlainTarget}");
        var metrics = new PipelineMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var changes = new List<(string[] Joined, string[] Left)>();
        var poller = new HubbleStatusPoller(new Observer.ObserverClient(channel), "relay", metrics, TimeSpan.FromSeconds(15))
        {
            NodesChanged = (joined, left) => changes.Add((joined.Order().ToArray(), left.Order().ToArray())),
        };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        for (var i = 0; i < 3; i++) await poller.PollOnceAsync(timeout.Token);

        Assert.Null(poller.LastError);
        Assert.Equal(2, changes.Count);
        Assert.Equal((new[] { "n1", "n2" }, Array.Empty<string>()), (changes[0].Joined, changes[0].Left), new ChangeComparer());
        Assert.Equal((new[] { "n3" }, new[] { "n2" }), (changes[1].Joined, changes[1].Left), new ChangeComparer());
    }

    private sealed class ChangeComparer : IEqualityComparer<(string[], string[])>
    {
        public bool Equals((string[], string[]) x, (string[], string[]) y) => x.Item1.SequenceEqual(y.Item1) && x.Item2.SequenceEqual(y.Item2);
        public int GetHashCode((string[], string[]) obj) => 0;
    }
}
