using System.Net;
using System.Net.Sockets;
using FlowWatch.Hubble;
using FlowWatch.Simulation;

namespace FlowWatch.Tests.Hubble;

/// <summary>Why the Hubble stream is down, in words an operator can act on (the progress line and /readyz show it).</summary>
public sealed class HubbleErrorMessageTests
{
    private static readonly SimulatedCluster Cluster = new(seed: 3, nodes: 3);

    private static ObserverServer Server(System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null) =>
        new(new() { Simulator = (Cluster, new FlowRing(1 << 10, Cluster.Nodes.Select(n => n.Name).ToList())), ServerCertificate = certificate });

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public async Task NothingListening_SaysConnectionRefusedAtTheAddress()
    {
        var port = FreePort();
        await using var client = new ClientHarness($"127.0.0.1:{port}");
        await client.Until(() => client.Source.LastError is not null, "a failed attempt");
        Assert.Equal($"connection refused at 127.0.0.1:{port}", client.Source.LastError);
        Assert.Contains($"connection refused at 127.0.0.1:{port}", client.Source.State);
    }

    [Fact]
    public async Task TlsTarget_OnAPlaintextServer_SaysItDoesNotSpeakTls()
    {
        await using var server = Server();
        await server.StartAsync(CancellationToken.None);
        await using var client = new ClientHarness(server.TlsTarget);
        await client.Until(() => client.Source.LastError is not null, "a failed attempt");
        Assert.Equal($"127.0.0.1:{server.Port} does not speak TLS (the handshake got no certificate back); for plaintext h2c give --hubble 127.0.0.1:{server.Port}",
            client.Source.LastError);
    }

    [Fact]
    public async Task TlsServer_WithACertificateFromAnUnknownCa_SaysNotTrusted()
    {
        using var certs = TestCertificates.Create();
        await using var server = Server(certs.Server);
        await server.StartAsync(CancellationToken.None);
        // No --tls-ca: the system's CAs do not know the test CA.
        await using var client = new ClientHarness(server.TlsTarget, ClientHarness.Fast with { Tls = new HubbleTlsOptions { ServerName = TestCertificates.ServerName } });
        await client.Until(() => client.Source.LastError is not null, "a failed attempt");
        Assert.StartsWith($"the TLS certificate of 127.0.0.1:{server.Port} is not trusted", client.Source.LastError);
    }

    [Fact]
    public async Task PlaintextTarget_OnATlsServer_SuggestsHttps()
    {
        using var certs = TestCertificates.Create();
        await using var server = Server(certs.Server);
        await server.StartAsync(CancellationToken.None);
        await using var client = new ClientHarness(server.PlainTarget);
        await client.Until(() => client.Source.LastError is not null, "a failed attempt");
        Assert.Contains($"--hubble https://127.0.0.1:{server.Port}", client.Source.LastError);
    }
}
