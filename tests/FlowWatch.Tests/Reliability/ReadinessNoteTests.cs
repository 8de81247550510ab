using System.Net;
using FlowWatch.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Tests.Reliability;

/// <summary>/readyz carries information (leadership) after its verdict without the information ever making it fail.</summary>
public sealed class ReadinessNoteTests
{
    [Fact]
    public async Task Notes_FollowTheVerdict_AndNeverTurnReadyIntoNotReady()
    {
        await using var runtime = new FlowWatchRuntime(new RuntimeOptions { Listen = "127.0.0.1:0" }, NullLoggerFactory.Instance);
        string? failing = null;
        runtime.Readiness.Add(() => failing);
        runtime.ReadinessNotes.Add(() => "leadership: follower, replica other holds Lease default/flowwatch-remediation; remediation paused here");
        runtime.ReadinessNotes.Add(() => null);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await runtime.StartHttpAsync(cts.Token);
        using var http = new HttpClient { BaseAddress = runtime.HttpAddress, Timeout = TimeSpan.FromSeconds(30) };

        using (var ready = await http.GetAsync("/readyz", cts.Token))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("ready\nleadership: follower, replica other holds Lease default/flowwatch-remediation; remediation paused here\n",
                await ready.Content.ReadAsStringAsync(cts.Token));
        }

        failing = "hubble 127.0.0.1:4245: connecting";
        using var notReady = await http.GetAsync("/readyz", cts.Token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        var lines = (await notReady.Content.ReadAsStringAsync(cts.Token)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["not ready: hubble 127.0.0.1:4245: connecting", "leadership: follower, replica other holds Lease default/flowwatch-remediation; remediation paused here"], lines);
    }
}
