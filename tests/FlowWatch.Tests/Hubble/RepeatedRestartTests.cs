using System.Diagnostics;
using FlowWatch.Hubble;
using FlowWatch.Simulation;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Hubble;

/// <summary>The Relay killed and restarted again and again while it streams a few thousand flows a second.</summary>
public sealed class RepeatedRestartTests(ITestOutputHelper output)
{
    private const int Restarts = 5;

    [Fact]
    public async Task FiveRestartsUnderLoad_LoseNothingBuffered_RepeatNothing_RecoverEachTime()
    {
        var cluster = new SimulatedCluster(seed: 11, nodes: 3);
        var ring = new FlowRing(1 << 17, cluster.Nodes.Select(n => n.Name).ToList());
        // Relay-shaped (the default): a lagging node's flows delivered after the first stream began are stamped before its first
        // flow, so a resume held at the oldest flow received skipped them (lost) and, as the client's newest stayed within the
        // overlap of that oldest, every reconnect was resent the whole ring from the start (issue 12).
        var feed = new SimulatorFeed(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 3000 }, cluster, ring);
        await feed.StartAsync(CancellationToken.None);
        var server = new ObserverServer(new() { Simulator = (cluster, ring) });
        await server.StartAsync(CancellationToken.None);
        var port = server.Port;
        // Default backoff (200 ms doubling), so the recovery times are the ones users get.
        await using var client = new ClientHarness(server.PlainTarget, new HubbleClientOptions { StatusPollInterval = TimeSpan.Zero });
        await client.Until(() => client.Source.Received >= 1000, "1,000 flows before the first restart");

        var recoveries = new List<TimeSpan>();
        for (var i = 0; i < Restarts; i++)
        {
            await server.StopAsync();
            // Down long enough for the agents to buffer some hundreds of flows the client has not seen.
            using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
                await ring.WaitForAsync(ring.Next + 600, wait.Token);
            var before = client.Source.Received;
            server = new ObserverServer(new() { Port = port, Simulator = (cluster, ring) });
            await server.StartAsync(CancellationToken.None);
            var back = Stopwatch.StartNew();
            await client.Until(() => client.Source.Received > before, $"a flow after restart {i + 1}");
            recoveries.Add(back.Elapsed);
            await client.Until(() => client.Source.Received >= before + 600, $"the flows buffered during outage {i + 1}");
        }

        await feed.StopAsync(CancellationToken.None);
        var entries = new List<FlowRing.Entry>();
        for (var cursor = ring.Oldest; cursor < ring.Next;) (_, cursor) = ring.Read(cursor, entries, 4096);
        var flows = entries.Where(e => e.Message.Flow is not null).Select(e => e.Message.Flow.Uuid).ToList();
        try { await client.Until(() => client.Counts.ContainsKey(flows[^1]), "the last buffered flow"); }
        catch
        {
            var got = client.Flows.Select(f => f.Uuid).ToHashSet();
            var missing = entries.Where(e => e.Message.Flow is not null && !got.Contains(e.Message.Flow.Uuid)).ToList();
            output.WriteLine($"DEBUG ring {flows.Count} received {got.Count} dups {client.Source.DuplicatesSkipped} missing {missing.Count}; newest received {client.Flows.Max(f => f.TimeNanos)}");
            foreach (var m in missing.Take(20)) output.WriteLine($"DEBUG missing seq {m.Seq} t {m.TimeNanos} node {m.Message.NodeName}");
            foreach (var m in missing.TakeLast(5)) output.WriteLine($"DEBUG missing seq {m.Seq} t {m.TimeNanos} node {m.Message.NodeName}");
            throw;
        }
        await server.StopAsync();

        var firstReceived = client.Flows.First().Uuid;
        var expected = flows.SkipWhile(u => u != firstReceived).ToList();
        var lost = expected.Count(u => !client.Counts.ContainsKey(u));
        var twice = client.Counts.Count(kv => kv.Value > 1);
        output.WriteLine($"{Restarts} restarts at 3,000 flows/s: {expected.Count:N0} buffered flows, lost {lost}, processed twice {twice}, " +
                         $"{client.Source.DuplicatesSkipped:N0} overlap duplicates dropped, {client.Source.Streams} streams; " +
                         $"recovery (server back to first flow) ms: {string.Join(", ", recoveries.Select(r => r.TotalMilliseconds.ToString("N0")))}");
        Assert.Equal(0, lost);
        Assert.Equal(0, twice);
        Assert.True(client.Source.Streams >= Restarts + 1, $"only {client.Source.Streams} streams for {Restarts} restarts");
        Assert.All(recoveries, r => Assert.True(r < TimeSpan.FromSeconds(10), $"recovery took {r.TotalSeconds:N1} s"));
    }
}
