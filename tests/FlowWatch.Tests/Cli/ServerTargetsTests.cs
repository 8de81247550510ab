using FlowWatch.Cli.CommandLine;
using FlowWatch.Cli.Commands;

namespace FlowWatch.Tests.Cli;

/// <summary>How --server values are read: plain URL, NAME=URL, and what is refused.</summary>
public sealed class ServerTargetsTests
{
    private const string Default = "http://127.0.0.1:9090";

    [Fact]
    public void NoServer_IsTheDefault_AndNotAFleet()
    {
        var servers = ServerTargets.Parse([], [], Default);
        Assert.Equal([new NamedServer(null, Default)], servers);
        Assert.False(ServerTargets.IsFleet(servers));
    }

    [Fact]
    public void AnEqualsSignAfterTheScheme_BelongsToTheUrl_BeforeItNamesTheServer()
    {
        Assert.Equal([new NamedServer(null, "http://fw:9090/?x=1")], ServerTargets.Parse(["http://fw:9090/?x=1"], [], Default));
        var named = ServerTargets.Parse(["prod-eu.1=https://fw:9090/?x=1", "b_2=fw-b:9090"], [], Default);
        Assert.Equal([new NamedServer("prod-eu.1", "https://fw:9090/?x=1"), new NamedServer("b_2", "fw-b:9090")], named);
        Assert.True(ServerTargets.IsFleet(named));
    }

    [Fact]
    public void FileServers_ComeAfterTheCommandLines_AndShareItsNames()
    {
        var servers = ServerTargets.Parse(["eu=http://a:1"], [new NamedServer("us", "https://b:2", "/t", "/ca")], Default);
        Assert.Equal(["eu", "us"], servers.Select(s => s.Name));
        Assert.Throws<UsageException>(() => ServerTargets.Parse(["eu=http://a:1"], [new NamedServer("eu", "https://b:2")], Default));
        Assert.Throws<UsageException>(() => ServerTargets.Parse([], [new NamedServer("-bad", "https://b:2")], Default));
    }

    [Fact]
    public void TooManyServers_AreRefused()
    {
        var many = Enumerable.Range(0, ServerTargets.MaxServers + 1).Select(i => $"s{i}=http://h:{i + 1}").ToList();
        Assert.Contains("at most 200", Assert.Throws<UsageException>(() => ServerTargets.Parse(many, [], Default)).Message);
        Assert.Equal(ServerTargets.MaxServers, ServerTargets.Parse(many.Take(ServerTargets.MaxServers).ToList(), [], Default).Count);
    }
}
