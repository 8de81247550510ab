using FlowWatch.Hubble;

namespace FlowWatch.Tests.Hubble;

public sealed class HubbleTargetTests
{
    [Theory]
    [InlineData("127.0.0.1:4245", HubbleTransport.Plaintext, "http://127.0.0.1:4245/")]
    [InlineData("hubble-relay.kube-system.svc:80", HubbleTransport.Plaintext, "http://hubble-relay.kube-system.svc/")]
    [InlineData("http://127.0.0.1:4245/", HubbleTransport.Plaintext, "http://127.0.0.1:4245/")]
    [InlineData("https://relay.example:443", HubbleTransport.Tls, "https://relay.example/")]
    [InlineData("[::1]:4245", HubbleTransport.Plaintext, "http://[::1]:4245/")]
    public void ParsesTcpTargets(string text, HubbleTransport transport, string address)
    {
        var t = HubbleTarget.Parse(text);
        Assert.Equal(transport, t.Transport);
        Assert.Equal(new Uri(address), t.Address);
        Assert.Null(t.SocketPath);
    }

    [Fact]
    public void ParsesUnixSocket()
    {
        var t = HubbleTarget.Parse("unix:///var/run/cilium/hubble.sock");
        Assert.Equal(HubbleTransport.UnixSocket, t.Transport);
        Assert.Equal("/var/run/cilium/hubble.sock", t.SocketPath);
    }

    [Theory]
    [InlineData("grpc://relay:4245", "unknown scheme")]
    [InlineData("unix://relative.sock", "absolute socket path")]
    [InlineData("relay", "needs a port")]
    [InlineData("http://relay:80/api", "needs a port and no path")]
    [InlineData("", "empty")]
    public void RefusesOtherForms_SayingWhy(string text, string reason)
    {
        var e = Assert.Throws<FormatException>(() => HubbleTarget.Parse(text));
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Namespaces_BecomeSourceAndDestinationPodPrefixes_AndNodesGoIntoEach()
    {
        var filters = FlowFilters.Allow(["shop", "payments"], ["node-a"]);
        Assert.Equal(2, filters.Count);
        Assert.Equal(["shop/", "payments/"], filters[0].SourcePod);
        Assert.Empty(filters[0].DestinationPod);
        Assert.Equal(["shop/", "payments/"], filters[1].DestinationPod);
        Assert.All(filters, f => Assert.Equal(["node-a"], f.NodeName));
        Assert.Equal(["k8s*"], Assert.Single(FlowFilters.Allow([], ["k8s*"])).NodeName);
        Assert.Empty(FlowFilters.Allow([], []));
    }
}
