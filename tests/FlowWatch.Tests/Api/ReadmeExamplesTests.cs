using System.Text.RegularExpressions;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Api;

/// <summary>The README's examples run as written against the demo's pipeline: every <c>curl</c> of the API and every
/// query command in a shell block answers, none with an error or a 404.</summary>
public sealed partial class ReadmeExamplesTests(DemoServer server, ITestOutputHelper output) : IClassFixture<DemoServer>
{
    [GeneratedRegex(@"^curl -s '(http://127\.0\.0\.1:9090[^']*)'")] private static partial Regex Curl();
    [GeneratedRegex(@"^(?:\./)?flowwatch (flows|findings|health|backends)\b(.*)$")] private static partial Regex Query();

    private static IEnumerable<string> ShellLines()
    {
        var inShell = false;
        foreach (var raw in File.ReadLines(Path.Combine(TestPaths.RepoRoot, "README.md")))
        {
            if (raw.StartsWith("```")) { inShell = raw is "```sh" or "```bash"; continue; }
            if (inShell) yield return raw.Trim();
        }
    }

    [Fact]
    public void TheReadme_HasExamplesOfEachKind()
    {
        var lines = ShellLines().ToList();
        Assert.True(lines.Count(l => Curl().IsMatch(l)) >= 5);
        Assert.True(lines.Count(l => Query().IsMatch(l)) >= 4);
    }

    [Fact]
    public async Task EveryCurlExample_Answers()
    {
        var urls = ShellLines().Select(l => Curl().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(urls);
        foreach (var url in urls)
        {
            var path = url["http://127.0.0.1:9090".Length..];
            using var response = await server.Http.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            output.WriteLine($"{(int)response.StatusCode} {path}");
            Assert.True(response.IsSuccessStatusCode, $"README example {url}: {(int)response.StatusCode} {body}");
        }
    }

    [Fact]
    public async Task EveryQueryCommandExample_Runs()
    {
        // Examples that talk to a remote, protected server (https://flowwatch:9090, --token-file) are not for the demo.
        var commands = ShellLines().Where(l => Query().IsMatch(l) && !l.Contains("--server") && !l.Contains("token")).ToList();
        Assert.NotEmpty(commands);
        foreach (var line in commands)
        {
            var args = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).TakeWhile(a => a != "#").ToList();
            var r = await CliRun.RunAsync([.. args, "--server", server.Address.ToString()]);
            output.WriteLine($"exit {r.ExitCode}: {line}");
            Assert.True(r.ExitCode == 0, $"README example '{line}' exited {r.ExitCode}: {r.Stderr}");
            Assert.DoesNotContain("404", r.Stderr);
        }
    }
}
