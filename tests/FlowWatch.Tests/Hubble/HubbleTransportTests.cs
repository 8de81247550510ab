using FlowWatch.Hubble;
using FlowWatch.Simulation;

namespace FlowWatch.Tests.Hubble;

/// <summary>The client over every transport it supports, against Kestrel on 127.0.0.1 or a unix socket serving the simulator.</summary>
public sealed class HubbleTransportTests
{
    private static readonly SimulatedCluster Cluster = new(seed: 3, nodes: 3);

    /// <summary>A ring the test fills itself: the server and the flows are then both under the test's control.</summary>
    private static async Task<(FlowRing Ring, SimulatorFeed Feed)> LiveRing(double rate = 3000)
    {
        var ring = new FlowRing(1 << 16, Cluster.Nodes.Select(n => n.Name).ToList());
        var feed = new SimulatorFeed(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = rate }, Cluster, ring);
        await feed.StartAsync(CancellationToken.None);
        return (ring, feed);
    }

    [Fact]
    public async Task Plaintext_FollowsFlows_AndPollsNodesAndHubblesOwnRate()
    {
        await using var sim = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", Nodes = 3, FlowsPerSecond = 3000 });
        await sim.StartAsync();
        await using var client = new ClientHarness(sim.Address.ToString(), ClientHarness.Fast with { StatusPollInterval = TimeSpan.FromMilliseconds(250) });
        await client.Until(() => client.Source.Received >= 500, "500 flows");
        await client.Until(() => client.Source.Status!.SeenFlowsPerSecond > 0 && client.Source.Status.Polls >= 2, "two status polls with a rate");
        Assert.Equal(HubbleConnectionState.Connected, client.Source.Connection);
        Assert.Equal(3, client.Source.Status!.NodesByState["connected"]);
        Assert.Equal(3, client.Metrics.HubbleNodes.WithLabels(client.Source.Target, "connected").Value);
        Assert.Equal(0, client.Metrics.HubbleNodes.WithLabels(client.Source.Target, "unavailable").Value);
        Assert.True(client.Metrics.HubbleSeenFlowsRate.WithLabels(client.Source.Target).Value > 0);
        Assert.Equal(1, client.Metrics.Connected.WithLabels(client.Source.Target).Value);
        Assert.Contains("nodes 3/3", client.Source.Describe());
        Assert.All(client.Counts.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task NamespaceAndNodeFilters_AreSentAsCiliumFlowFilters()
    {
        var (ring, feed) = await LiveRing();
        await using var server = new ObserverServer(new() { Simulator = (Cluster, ring) });
        await server.StartAsync(CancellationToken.None);
        var ns = Cluster.CoreDns.Namespace;
        var node = Cluster.Nodes[0].Name;
        await using var client = new ClientHarness(server.PlainTarget, ClientHarness.Fast with { Namespaces = [ns], Nodes = [node] });
        await client.Until(() => client.Source.Received >= 100, "100 filtered flows");
        await feed.StopAsync(CancellationToken.None);
        Assert.All(client.Flows, f =>
        {
            Assert.Equal(node, f.NodeName);
            Assert.True(f.Source.Namespace == ns || f.Destination.Namespace == ns, $"flow {f.Uuid} is neither from nor to {ns}");
        });
    }

    [Fact]
    public async Task Tls_WithTheTestCa_AndServerNameOverride()
    {
        using var certs = TestCertificates.Create();
        var (ring, feed) = await LiveRing();
        await using var server = new ObserverServer(new() { Simulator = (Cluster, ring), ServerCertificate = certs.Server });
        await server.StartAsync(CancellationToken.None);
        await using var client = new ClientHarness(server.TlsTarget, ClientHarness.Fast with
        {
            Tls = new HubbleTlsOptions { CaFile = certs.CaFile, ServerName = TestCertificates.ServerName },
        });
        await client.Until(() => client.Source.Received >= 200, "200 flows over TLS");
        await feed.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Tls_RefusesAServerWhoseNameDoesNotMatch()
    {
        using var certs = TestCertificates.Create();
        var (ring, feed) = await LiveRing();
        await using var server = new ObserverServer(new() { Simulator = (Cluster, ring), ServerCertificate = certs.Server });
        await server.StartAsync(CancellationToken.None);
        // Trusted CA, but the certificate is for relay.flowwatch.test, not 127.0.0.1.
        await using var client = new ClientHarness(server.TlsTarget, ClientHarness.Fast with { Tls = new HubbleTlsOptions { CaFile = certs.CaFile } });
        await client.Until(() => client.Source.Streams >= 3, "three refused attempts");
        await feed.StopAsync(CancellationToken.None);
        Assert.Equal(0, client.Source.Received);
        Assert.NotEqual(HubbleConnectionState.Connected, client.Source.Connection);
    }

    [Fact]
    public async Task Tls_AcceptsHubblesWildcardServerNameConvention()
    {
        using var certs = TestCertificates.Create();
        var (ring, feed) = await LiveRing();
        await using var server = new ObserverServer(new() { Simulator = (Cluster, ring), ServerCertificate = certs.Server });
        await server.StartAsync(CancellationToken.None);
        await using var client = new ClientHarness(server.TlsTarget, ClientHarness.Fast with
        {
            Tls = new HubbleTlsOptions { CaFile = certs.CaFile, ServerName = "*.hubble-relay.cilium.io" },
        });
        await client.Until(() => client.Source.Received >= 100, "100 flows with a wildcard server name");
        await feed.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task MutualTls_ServerRequiresTheClientCertificate()
    {
        using var certs = TestCertificates.Create();
        var (ring, feed) = await LiveRing();
        await using var server = new ObserverServer(new()
        {
            Simulator = (Cluster, ring), ServerCertificate = certs.Server, RequireClientCa = certs.Ca,
        });
        await server.StartAsync(CancellationToken.None);
        var tls = new HubbleTlsOptions { CaFile = certs.CaFile, ServerName = TestCertificates.ServerName };

        await using (var withCert = new ClientHarness(server.TlsTarget, ClientHarness.Fast with
                     { Tls = tls with { CertFile = certs.ClientCertFile, KeyFile = certs.ClientKeyFile } }))
            await withCert.Until(() => withCert.Source.Received >= 200, "200 flows over mutual TLS");

        await using (var without = new ClientHarness(server.TlsTarget, ClientHarness.Fast with { Tls = tls }))
        {
            await without.Until(() => without.Source.Streams >= 3, "three attempts without a client certificate");
            Assert.Equal(0, without.Source.Received);
        }

        var refusedBefore = Volatile.Read(ref server.RefusedClients);
        await using (var stranger = new ClientHarness(server.TlsTarget, ClientHarness.Fast with
                     { Tls = tls with { CertFile = certs.StrangerCertFile, KeyFile = certs.StrangerKeyFile } }))
        {
            await stranger.Until(() => stranger.Source.Streams >= 3, "three attempts with a certificate of another CA");
            Assert.Equal(0, stranger.Source.Received);
        }
        await feed.StopAsync(CancellationToken.None);
        Assert.True(Volatile.Read(ref server.RefusedClients) > refusedBefore, "the server never saw and refused the stranger's certificate");
    }

    [Fact]
    public async Task UnixSocket_FollowsFlows()
    {
        var path = Path.Combine(Path.GetTempPath(), $"fw-{Guid.NewGuid().ToString("N")[..12]}.sock");
        var (ring, feed) = await LiveRing();
        try
        {
            await using var server = new ObserverServer(new() { Simulator = (Cluster, ring), UnixSocket = path });
            await server.StartAsync(CancellationToken.None);
            await using var client = new ClientHarness("unix://" + path);
            await client.Until(() => client.Source.Received >= 200, "200 flows over the unix socket");
            await feed.StopAsync(CancellationToken.None);
        }
        finally { File.Delete(path); }
    }
}
