using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Simulation;
using Grpc.Core;
using Grpc.Net.Client;

namespace FlowWatch.Tests.Simulation;

public sealed class SimulatorHostTests
{
    private static SimulatorOptions Options(int buffer, double rate) => new()
    {
        Listen = "127.0.0.1:0", Nodes = 3, FlowsPerSecond = rate, BufferSize = buffer, Scenarios = ScenarioSet.None,
    };

    [Fact]
    public async Task SmallBuffer_OverwritesTheOldest_AndCountsIt()
    {
        await using var host = new SimulatorHost(Options(512, 20_000));
        await host.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.Ring.WaitForAsync(5_000, timeout.Token);
        using var channel = GrpcChannel.ForAddress(host.Address);
        var status = await new Observer.ObserverClient(channel).ServerStatusAsync(new ServerStatusRequest(), cancellationToken: timeout.Token);
        Assert.Equal(512ul, status.NumFlows);
        Assert.Equal(512ul, status.MaxFlows);
        Assert.True(status.SeenFlows > 5_000);
        Assert.True(host.Ring.Overwritten >= 5_000 - 512);
    }

    [Fact]
    public async Task Stop_EndsOpenFollowStreams_Promptly()
    {
        var host = new SimulatorHost(Options(4_096, 500));
        await host.StartAsync();
        using var channel = GrpcChannel.ForAddress(host.Address);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var call = new Observer.ObserverClient(channel).GetFlows(new GetFlowsRequest { Follow = true }, cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        var disposing = host.DisposeAsync().AsTask();
        Assert.Same(disposing, await Task.WhenAny(disposing, Task.Delay(TimeSpan.FromSeconds(10), timeout.Token)));
        await disposing;
        // The follower's stream ends (cleanly or with an error), it does not hang.
        try { while (await call.ResponseStream.MoveNext(timeout.Token)) { } }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled || !timeout.IsCancellationRequested) { }
        Assert.False(timeout.IsCancellationRequested);
    }

    [Fact]
    public async Task Address_IsTheBoundLoopbackPort()
    {
        await using var host = new SimulatorHost(Options(1_024, 100));
        Assert.Throws<InvalidOperationException>(() => host.Address);
        await host.StartAsync();
        Assert.Equal("127.0.0.1", host.Address.Host);
        Assert.NotEqual(0, host.Address.Port);
        Assert.Equal(host.EndPoint!.Port, host.Address.Port);
        Assert.Contains(host.ClusterView(), e => e is Kubernetes.ServiceState { Name: "storefront" });
    }

    [Theory]
    [InlineData("nowhere", 5, 100.0, 10, "nowhere")]
    [InlineData("127.0.0.1:0", 2, 100.0, 10, "nodes")]
    [InlineData("127.0.0.1:0", 5, 0.0, 10, "rate")]
    [InlineData("127.0.0.1:0", 5, 100.0, 0, "buffer")]
    public void BadOptions_FailFastWithTheSetting(string listen, int nodes, double rate, int buffer, string mentioned)
    {
        var options = new SimulatorOptions { Listen = listen, Nodes = nodes, FlowsPerSecond = rate, BufferSize = buffer };
        var e = Assert.ThrowsAny<Exception>(() => new SimulatorHost(options));
        Assert.True(e is ArgumentException or FormatException, e.GetType().Name);
        Assert.Contains(mentioned, e.Message);
    }
}
