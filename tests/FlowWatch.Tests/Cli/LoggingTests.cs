using System.Text.Json;
using FlowWatch.Tests.Alerting;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Cli;

/// <summary>--log-format json: every line the demo prints is a JSON log record, each component's records are there, and no token is.</summary>
public sealed class LoggingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task JsonLogs_EveryLineParses_EveryComponentLogs_NoToken()
    {
        var dir = Directory.CreateTempSubdirectory("fw-logs-").FullName;
        const string Token = "log-test-token-7c1d9e";
        var tokenFile = Path.Combine(dir, "token");
        await File.WriteAllTextAsync(tokenFile, Token + "\n");
        try
        {
            await using var demo = await DemoProcess.StartAsync("dns-drops",
                ["--log-format", "json", "--log-level", "debug", "--api-token-file", tokenFile, "--checkpoint", Path.Combine(dir, "cp.json")], progress: "1s");
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (!demo.AllOutput.Contains("\"flowwatch.findings\""))
            {
                Assert.True(DateTime.UtcNow < deadline, $"no finding record within 90 s:\n{demo.RecentLog}");
                await Task.Delay(200);
            }
            Assert.Equal(0, await demo.TerminateAsync(TimeSpan.FromSeconds(30)));
            var all = demo.AllOutput;
            Assert.DoesNotContain(Token, all);
            var categories = new HashSet<string>();
            foreach (var line in all.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                using var record = JsonDocument.Parse(line);   // throws on any line that is not JSON
                var root = record.RootElement;
                Assert.True(DateTimeOffset.TryParse(root.GetProperty("Timestamp").GetString(), out _), line);
                Assert.False(string.IsNullOrEmpty(root.GetProperty("LogLevel").GetString()), line);
                Assert.False(string.IsNullOrEmpty(root.GetProperty("Message").GetString()), line);
                categories.Add(root.GetProperty("Category").GetString()!);
            }
            output.WriteLine(string.Join(", ", categories.Order()));
            foreach (var component in new[] { "flowwatch.watch", "flowwatch.hubble", "flowwatch.progress", "flowwatch.findings", "Microsoft.Hosting.Lifetime" })
                Assert.Contains(component, categories);
            Assert.Contains("stopped after", all);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
