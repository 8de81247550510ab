using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using FlowWatch.Pipeline;
using FlowWatch.Tests.Alerting;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Cli;

/// <summary>The built CLI as a child process: SIGTERM stops it cleanly (exit 0, checkpoint, last progress line); tokens never printed.</summary>
public sealed class GracefulShutdownTests(ITestOutputHelper output) : IDisposable
{
    private const string Token = "sigterm-test-token-4c1b8e";
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-sigterm-").FullName;

    [Fact]
    public async Task Sigterm_ExitsZeroWithinTheGracePeriod_WritesTheCheckpoint_PrintsTheLastProgressLine_NeverPrintsTheToken()
    {
        var tokenFile = Path.Combine(_dir, "token");
        await File.WriteAllTextAsync(tokenFile, Token + "\n");
        var checkpoint = Path.Combine(_dir, "state", "checkpoint.json");
        await using var demo = await DemoProcess.StartAsync("dns-drops",
            ["--rate", "1000", "--checkpoint", checkpoint, "--checkpoint-every", "1s", "--api-token-file", tokenFile], progress: "1s");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var flowsUri = new Uri(demo.MetricsUri, "/api/v1/flows?limit=5");
        using (var refused = await http.GetAsync(flowsUri)) Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using (var request = new HttpRequestMessage(HttpMethod.Get, flowsUri))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            using var served = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(checkpoint) || !demo.AllOutput.Contains("| shed "))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), $"no periodic checkpoint or progress line within 20 s:\n{demo.RecentLog}");
            await Task.Delay(50);
        }
        var periodic = File.GetLastWriteTimeUtc(checkpoint);

        var clock = Stopwatch.StartNew();
        var code = await demo.TerminateAsync(Grace);
        var took = clock.Elapsed;

        Assert.True(code is not null, $"still running {Grace.TotalSeconds:0} s after SIGTERM:\n{demo.RecentLog}");
        Assert.True(code == 0, $"exit code {code} after SIGTERM:\n{demo.RecentLog}");
        var lines = demo.AllOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.StartsWith("flowwatch: stopped after", lines[^1]);
        Assert.Contains("checkpoint written to", lines[^1]);
        Assert.Contains("| shed ", lines[^2]);
        var saved = Checkpoint.Load(checkpoint);
        Assert.NotNull(saved);
        Assert.True(File.GetLastWriteTimeUtc(checkpoint) >= periodic);
        Assert.Single(saved!.Sources);
        Assert.True(saved.Sources.Values.Single() > 0);
        Assert.DoesNotContain(Token, demo.AllOutput);
        Assert.DoesNotContain(Token, await File.ReadAllTextAsync(checkpoint));
        output.WriteLine($"SIGTERM to exit 0: {took.TotalMilliseconds:N0} ms; checkpoint {new FileInfo(checkpoint).Length:N0} bytes, {saved.OpenFindings.Count} open findings");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
