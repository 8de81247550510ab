using FlowWatch.Hubble;
using FlowWatch.Tests.Support;

namespace FlowWatch.Tests.Hubble.Conformance;

/// <summary>
/// FlowWatch's Hubble client against hubble-refserver: grpc-go's HTTP/2 stack, Cilium's generated API and Hubble's
/// own filter engine, serving real recordings (../shared/corpus) replayed live. Every transport, the namespace and
/// node filters, lost events, and a server restart resumed with nothing lost and nothing twice.
/// </summary>
public sealed class ClientAgainstRefServerTests
{
    private static string[] Recordings()
    {
        var dir = TestPaths.RequireCorpus();
        return ["--file", Path.Combine(dir, "hubble-otel-basic-sample-400-tcp-flows.jsonl"),
            "--file", Path.Combine(dir, "hubble-otel-basic-sample-330-dns-flows.jsonl")];
    }

    private static async Task<RefServer> Live(string? listen = null, params string[] more)
    {
        TestPaths.RequireSharedBin();
        return await RefServer.StartAsync(listen, [.. Recordings(), "--live", "400", .. more]);
    }

    [SkippableFact]
    public async Task Plaintext_FollowsLiveFlows_EachOnce()
    {
        await using var server = await Live();
        await using var client = new ClientHarness(server.Listen);
        await client.Until(() => client.Source.Received >= 300, "300 flows from hubble-refserver");
        Assert.Equal(HubbleConnectionState.Connected, client.Source.Connection);
        Assert.All(client.Counts.Values, n => Assert.Equal(1, n));
    }

    [SkippableFact]
    public async Task Tls_WithTheTestCa_AndServerName()
    {
        using var certs = TestCertificates.Create();
        await using var server = await Live(null, "--tls-cert", certs.ServerCertFile, "--tls-key", certs.ServerKeyFile);
        await using var client = new ClientHarness("https://" + server.Listen, ClientHarness.Fast with
        {
            Tls = new HubbleTlsOptions { CaFile = certs.CaFile, ServerName = TestCertificates.ServerName },
        });
        await client.Until(() => client.Source.Received >= 200, "200 flows over TLS 1.3 from grpc-go");
    }

    [SkippableFact]
    public async Task MutualTls_WithTheClientCertificate_AndRefusedWithout()
    {
        using var certs = TestCertificates.Create();
        await using var server = await Live(null, "--tls-cert", certs.ServerCertFile, "--tls-key", certs.ServerKeyFile,
            "--tls-client-ca", certs.CaFile);
        var tls = new HubbleTlsOptions { CaFile = certs.CaFile, ServerName = TestCertificates.ServerName };
        await using (var with = new ClientHarness("https://" + server.Listen, ClientHarness.Fast with
                     { Tls = tls with { CertFile = certs.ClientCertFile, KeyFile = certs.ClientKeyFile } }))
            await with.Until(() => with.Source.Received >= 200, "200 flows over mutual TLS");
        await using var without = new ClientHarness("https://" + server.Listen, ClientHarness.Fast with { Tls = tls });
        await without.Until(() => without.Source.Streams >= 3, "three attempts without a client certificate");
        Assert.Equal(0, without.Source.Received);
        await using var stranger = new ClientHarness("https://" + server.Listen, ClientHarness.Fast with
            { Tls = tls with { CertFile = certs.StrangerCertFile, KeyFile = certs.StrangerKeyFile } });
        await stranger.Until(() => stranger.Source.Streams >= 3, "three attempts with another CA's certificate");
        Assert.Equal(0, stranger.Source.Received);
    }

    [SkippableFact]
    public async Task UnixSocket_FollowsLiveFlows()
    {
        var path = Path.Combine(Path.GetTempPath(), $"fw-ref-{Guid.NewGuid().ToString("N")[..10]}.sock");
        try
        {
            await using var server = await Live("unix://" + path);
            await using var client = new ClientHarness("unix://" + path);
            await client.Until(() => client.Source.Received >= 200, "200 flows over the unix socket");
        }
        finally { File.Delete(path); }
    }

    [SkippableFact]
    public async Task NamespaceAndNodeFilters_AreHonouredByHubblesEngine()
    {
        await using var server = await Live();
        const string ns = "kube-system";
        // Two of the recording's six nodes; kube-system is a third of their flows.
        string[] nodes = ["gke-ilya-otel-demo-2-ilya-otel-demo-2-dac8cc20-hr0z", "gke-*-5236"];
        await using var client = new ClientHarness(server.Listen, ClientHarness.Fast with { Namespaces = [ns], Nodes = nodes });
        await client.Until(() => client.Source.Received >= 200, "200 filtered flows");
        Assert.Equal(2, client.Flows.Select(f => f.NodeName).Distinct().Count());
        Assert.All(client.Flows, f =>
        {
            Assert.True(f.NodeName.EndsWith("-hr0z", StringComparison.Ordinal) || f.NodeName.EndsWith("-5236", StringComparison.Ordinal), f.NodeName);
            Assert.True(f.Source.Namespace == ns || f.Destination.Namespace == ns, $"flow {f.Uuid} is neither from nor to {ns}");
        });
    }

    [SkippableFact]
    public async Task LostEvents_AreCounted()
    {
        await using var server = await Live(null, "--lost-every", "50");
        await using var client = new ClientHarness(server.Listen);
        await client.Until(() => client.Source.Received >= 500, "500 flows");
        await client.Until(() => client.Source.LostEvents >= 10, "ten lost events (one per 50 flows)");
        var expected = (ulong)client.Source.Received / 50;
        Assert.InRange(client.Source.LostEvents, expected - 1, expected + 1);
        Assert.Equal(client.Source.LostEvents, client.Source.LostEventsBySource["HUBBLE_RING_BUFFER"]);
    }

    /// <summary>
    /// Server A replays live flows and exits after 600 (--exit-after); a hubble CLI follower records what A served.
    /// Server B starts on the same port with that recording in its ring (as a restarted Relay finds the agents'
    /// rings) and goes on live. The client must resume from its window: every flow A served exactly once, none twice.
    /// </summary>
    [SkippableFact]
    public async Task Restart_IsResumed_NothingLost_NothingTwice()
    {
        var port = RefServer.FreePort();
        var listen = $"127.0.0.1:{port}";
        var recording = Path.Combine(Path.GetTempPath(), $"fw-ref-{Guid.NewGuid():N}.jsonl");
        try
        {
            await using (var a = await Live(listen, "--exit-after", "1200"))
            {
                await using var client = new ClientHarness(listen);
                await client.Until(() => client.Source.Received > 0, "the first flow from A");
                var capture = HubbleCli.RunAsync(["observe", "--server", listen, "--follow", "-o", "jsonpb"], TimeSpan.FromSeconds(60));
                await client.Until(() => a.HasExited, "server A exiting after --exit-after", 60);
                Assert.Equal(3, a.ExitCode);
                var captured = await capture;
                await File.WriteAllTextAsync(recording, captured.Stdout);
                // Hubble's plain --follow starts with the newest stored flow, which the client may have had before
                // the follower connected; from the second on, the follower saw what A served while both were on.
                var servedByA = captured.Uuids.Skip(1).ToList();
                Assert.True(servedByA.Count > 100, $"the follower recorded only {servedByA.Count} flows from A");

                await using var b = await RefServer.StartAsync(listen, "--file", recording, "--live", "400");
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (!servedByA.All(client.Counts.ContainsKey) && DateTime.UtcNow < deadline) await Task.Delay(20);
                var missing = servedByA.Select((u, i) => (u, i)).Where(x => !client.Counts.ContainsKey(x.u)).ToList();
                Assert.True(missing.Count == 0, $"{missing.Count} of the {servedByA.Count} flows A served never reached the client, " +
                    $"at positions {string.Join(", ", missing.Take(10).Select(x => x.i))}; streams {client.Source.Streams}");
                var before = client.Source.Received;
                await client.Until(() => client.Source.Received >= before + 200, "200 new flows from B");
                Assert.All(client.Counts, kv => Assert.True(kv.Value == 1, $"flow {kv.Key} was handed on {kv.Value} times"));
                Assert.True(client.Source.Streams >= 2, "the client never reconnected");
            }
        }
        finally { File.Delete(recording); }
    }
}
