using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Cli;

/// <summary><c>flowwatch flows -f</c> over two servers, through the built CLI: new flows of each server are printed with
/// its cluster, a server that stops answering is reported once and again when it is back, and the other keeps flowing.</summary>
public sealed class MultiServerFollowTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow.AddMinutes(-10);

    [Fact]
    public async Task Follow_PrintsEachServersNewFlows_AndSaysWhenOneStopsAndComesBack()
    {
        await using var a = await FakeQueryServer.StartAsync();
        await using var b = await FakeQueryServer.StartAsync();
        a.Answer("/api/v1/flows", FakeQueryServer.Flows(FakeQueryServer.Flow(1, T0, "a-first")));
        b.Answer("/api/v1/flows", FakeQueryServer.Flows(FakeQueryServer.Flow(7, T0.AddSeconds(1), "b-first")));
        var stdout = new ConcurrentQueue<string>();
        var stderr = new ConcurrentQueue<string>();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "FlowWatch.Cli.dll"), "flows", "-f", "--interval", "100ms",
                     "--server", $"eu={a.Address}", "--server", $"us={b.Address}" })
            start.ArgumentList.Add(arg);
        start.Environment.Remove("FLOWWATCH_TOKEN");
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) stdout.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) stderr.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Until(() => stdout.Count == 2, "the first page of both servers", stdout, stderr);
            Assert.StartsWith("eu  ", stdout.ElementAt(0));
            Assert.StartsWith("us  ", stdout.ElementAt(1));

            a.Answer("/api/v1/flows", FakeQueryServer.Flows(FakeQueryServer.Flow(1, T0, "a-first"), FakeQueryServer.Flow(2, T0.AddSeconds(2), "a-second")));
            await Until(() => stdout.Any(l => l.Contains("shop/a-second")), "eu's new flow", stdout, stderr);

            b.Answer("/api/v1/flows", new JsonObject { ["error"] = "restarting" }, status: 503);
            await Until(() => stderr.Any(l => l.Contains("server us") && l.Contains("stopped answering") && l.Contains("restarting")), "us reported down", stdout, stderr);
            a.Answer("/api/v1/flows", FakeQueryServer.Flows(FakeQueryServer.Flow(2, T0.AddSeconds(2), "a-second"), FakeQueryServer.Flow(3, T0.AddSeconds(3), "a-third")));
            await Until(() => stdout.Any(l => l.Contains("shop/a-third")), "eu still followed while us is down", stdout, stderr);

            b.Answer("/api/v1/flows", FakeQueryServer.Flows(FakeQueryServer.Flow(7, T0.AddSeconds(1), "b-first"), FakeQueryServer.Flow(8, T0.AddSeconds(4), "b-second")));
            await Until(() => stdout.Any(l => l.StartsWith("us  ") && l.Contains("shop/b-second")), "us's flow after it is back", stdout, stderr);
            Assert.Contains(stderr, l => l.Contains("server us answers again"));
            // Reported once each way, not once per poll; no flow printed twice.
            Assert.Single(stderr, l => l.Contains("stopped answering"));
            Assert.Equal(5, stdout.Count);
            Assert.Equal(stdout.Count, stdout.Distinct().Count());
            Assert.False(process.HasExited, "flows -f exited while following");
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            output.WriteLine("stdout:\n" + string.Join("\n", stdout) + "\nstderr:\n" + string.Join("\n", stderr));
        }
    }

    private static async Task Until(Func<bool> condition, string what, ConcurrentQueue<string> stdout, ConcurrentQueue<string> stderr)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline,
                $"within {Deadline.TotalSeconds:0} s: {what}\nstdout:\n{string.Join("\n", stdout)}\nstderr:\n{string.Join("\n", stderr)}");
            await Task.Delay(50);
        }
    }
}
