using System.Net;
using System.Net.Sockets;
using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Tests.Kube;
using Grpc.Core;

namespace FlowWatch.Tests.Hubble;

/// <summary>The Hubble client logs its own state as it changes (connected, lost, backoff, lost events, stop), over a real Kestrel server on 127.0.0.1.</summary>
public sealed class HubbleClientLoggingTests
{
    [Fact]
    public async Task Logs_Connect_LostEvents_ConnectionLostWithBackoff_Reconnect_AndStop()
    {
        await using var server = new ObserverServer(new()
        {
            RawGetFlows = async (call, ctx) =>
            {
                RawGrpc.Begin(ctx);
                if (call == 1)
                {
                    await RawGrpc.SendAsync(ctx, RawGrpc.Flow(0));
                    await RawGrpc.SendAsync(ctx, RawGrpc.Lost(LostEventSource.PerfEventRingBuffer, 5));
                    await RawGrpc.SendAsync(ctx, RawGrpc.Lost(LostEventSource.HubbleRingBuffer, 3));
                    RawGrpc.End(ctx, StatusCode.Unavailable, "relay restarting");
                    return;
                }
                await RawGrpc.SendAsync(ctx, RawGrpc.Flow(1));
                await RawGrpc.HoldAsync(ctx);
            },
        });
        await server.StartAsync(CancellationToken.None);
        var log = new ListLogger();
        var client = new ClientHarness(server.PlainTarget, null, log);
        await client.Until(() => client.Source.Received == 2 && Has(log, "connected (stream 2)"), "the second stream's flow, logged as connected:\n" + log);
        await client.DisposeAsync();

        var lines = log.Lines.ToList();
        var target = server.PlainTarget;
        Assert.Equal($"Information: hubble {target}: connecting (plaintext)", lines[0]);
        Assert.Contains($"Information: hubble {target}: connected (stream 1)", lines);
        // The first notice is logged at once; the second, within the fold period, is summed into the line at stop.
        Assert.Contains($"Warning: hubble {target}: 5 events lost (PERF_EVENT_RING_BUFFER); 5 in all", lines);
        var lost = Assert.Single(lines, l => l.Contains("connection lost", StringComparison.Ordinal));
        Assert.StartsWith($"Warning: hubble {target}: connection lost: ", lost);
        Assert.Contains("relay restarting", lost);
        Assert.Matches(@"reconnecting in \d+(\.\d+)?s$", lost);
        Assert.True(lines.IndexOf(lost) < lines.IndexOf($"Information: hubble {target}: connected (stream 2)"), string.Join("\n", lines));
        Assert.Contains($"Warning: hubble {target}: 3 events lost (several); 8 in all", lines);
        Assert.Equal($"Information: hubble {target}: stopped after 2 flows (8 events lost, 0 undecodable messages)", lines[^1]);
        Assert.DoesNotContain(lines, l => l.Contains("flow-0", StringComparison.Ordinal) || l.Contains("node-a", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RefusedConnection_IsLoggedPerAttempt_WithTheAddressAndTheGrowingBackoff()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var log = new ListLogger();
        var client = new ClientHarness($"127.0.0.1:{port}", null, log);
        await client.Until(() => log.Lines.Count(l => l.Contains("cannot connect", StringComparison.Ordinal)) >= 3, "three failed attempts logged:\n" + log);
        await client.DisposeAsync();

        var failures = log.Lines.Where(l => l.Contains("cannot connect", StringComparison.Ordinal)).Take(3).ToList();
        for (var i = 0; i < failures.Count; i++)
        {
            Assert.StartsWith($"Warning: hubble 127.0.0.1:{port}: cannot connect: ", failures[i]);
            Assert.Contains($"127.0.0.1:{port}", failures[i][$"Warning: hubble 127.0.0.1:{port}:".Length..]);
            Assert.Contains($"attempt {i + 1}, retrying in ", failures[i]);
        }
        Assert.DoesNotContain(log.Lines, l => l.Contains(": connected", StringComparison.Ordinal));
        Assert.StartsWith($"Information: hubble 127.0.0.1:{port}: stopped after 0 flows", log.Lines.Last());
    }

    private static bool Has(ListLogger log, string text) => log.Lines.Any(l => l.Contains(text, StringComparison.Ordinal));
}
