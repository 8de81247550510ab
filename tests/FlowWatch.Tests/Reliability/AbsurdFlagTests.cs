using FlowWatch.Tests.Api;

namespace FlowWatch.Tests.Reliability;

/// <summary>Absurd flag values are refused where they are parsed, with one line naming the flag and its range.</summary>
public sealed class AbsurdFlagTests : IDisposable
{
    private readonly string _file = Path.Combine(Directory.CreateTempSubdirectory("flowwatch-flags-").FullName, "one.jsonl");

    public AbsurdFlagTests() =>
        File.WriteAllText(_file, """{"flow":{"time":"2026-12-01T10:00:00Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"}}}""" + "\n");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_file)!, recursive: true);

    [Theory]
    [InlineData("--asym-ratio", "NaN")]
    [InlineData("--asym-ratio", "Infinity")]
    [InlineData("--asym-ratio", "-Infinity")]
    [InlineData("--backend-unhealthy-ratio", "NaN")]
    [InlineData("--backend-unhealthy-ratio", "Infinity")]
    public async Task NonFiniteRatio_IsRefused_NamingTheFlagAndItsRange(string flag, string value)
    {
        var run = await CliRun.RunAsync("replay", _file, flag, value);
        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"'{flag}'", line);
        Assert.Contains("between", line);
        Assert.Contains(value, line);
    }

    [Theory]
    [InlineData("demo")]
    [InlineData("simulate")]
    public async Task NodesOutsideWhatTheSimulatorTakes_IsRefusedByTheCli(string command)
    {
        foreach (var nodes in new[] { "2", "201" })
        {
            var run = await CliRun.RunAsync(command, "--nodes", nodes, "--listen", "127.0.0.1:0");
            Assert.Equal(1, run.ExitCode);
            var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("'--nodes'", line);
            Assert.Contains("between 3 and 200", line);
        }
    }
}
