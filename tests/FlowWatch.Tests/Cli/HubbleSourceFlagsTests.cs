using FlowWatch.Cli.CommandLine;
using FlowWatch.Cli.Commands;

namespace FlowWatch.Tests.Cli;

/// <summary><c>--hubble [NAME=]TARGET</c> repeated, with <c>--tls-* [NAME=]VALUE</c> per source: parsed, or refused naming the flag.</summary>
public sealed class HubbleSourceFlagsTests
{
    private static IReadOnlyList<FlowWatch.Hubble.HubbleSourceSpec> Build(params string[] argv) =>
        HubbleSourceFlags.Build(ParsedArgs.Parse(WatchCommand.Spec, argv));

    [Fact]
    public void APlainTarget_IsOneUnnamedSource_KeyedByItsTarget()
    {
        var s = Assert.Single(Build("--hubble", "127.0.0.1:4245"));
        Assert.Null(s.Name);
        Assert.Equal("127.0.0.1:4245", s.Key);
    }

    [Fact]
    public void NamedSources_EachGetTheirOwnTls_AndTheUnkeyedTlsGoesToTheRest()
    {
        using var a = FlowWatch.Tests.Hubble.TestCertificates.Create();
        using var b = FlowWatch.Tests.Hubble.TestCertificates.Create();
        var specs = Build("--hubble", "eu-1=https://relay-1:443", "--hubble", "eu-2=https://relay-2:443", "--hubble", "plain=127.0.0.1:4245",
            "--tls-ca", $"eu-1={a.CaFile}", "--tls-ca", b.CaFile, "--tls-server-name", "eu-1=*.eu-1.hubble-relay.cilium.io",
            "--tls-cert", b.ClientCertFile, "--tls-key", b.ClientKeyFile, "--node", "k8s-a*");
        Assert.Equal(["eu-1", "eu-2", "plain"], specs.Select(s => s.Key));
        Assert.Equal((a.CaFile, "*.eu-1.hubble-relay.cilium.io", (string?)null), (specs[0].Options.Tls.CaFile, specs[0].Options.Tls.ServerName, specs[0].Options.Tls.CertFile));
        Assert.Equal((b.CaFile, b.ClientCertFile, b.ClientKeyFile), (specs[1].Options.Tls.CaFile, specs[1].Options.Tls.CertFile, specs[1].Options.Tls.KeyFile));
        Assert.True(specs[2].Options.Tls.IsEmpty);
        Assert.All(specs, s => Assert.Equal(["k8s-a*"], s.Options.Nodes));
    }

    [Theory]
    [InlineData("option '--hubble': source 'a' is given twice", "--hubble", "a=127.0.0.1:1", "--hubble", "a=127.0.0.1:2")]
    [InlineData("option '--hubble': source '127.0.0.1:1' is given twice", "--hubble", "127.0.0.1:1", "--hubble", "127.0.0.1:1")]
    [InlineData("option '--hubble': 'a=' names source 'a' but gives no target", "--hubble", "a=")]
    [InlineData("options '--tls-* a=...' need a TLS target", "--hubble", "a=127.0.0.1:1", "--tls-server-name", "a=x")]
    [InlineData("option '--tls-server-name' is given twice for source 'a'", "--hubble", "a=https://r:1", "--tls-server-name", "a=x", "--tls-server-name", "a=y")]
    [InlineData("options '--tls-*' need a TLS target", "--hubble", "a=127.0.0.1:1", "--tls-server-name", "x")]
    [InlineData("option '--hubble' is required")]
    public void BadSources_AreRefused_NamingTheFlag(string message, params string[] argv)
    {
        var e = Assert.Throws<UsageException>(() => Build(argv));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void AKeyedMissingFile_NamesTheFlagAndTheSource()
    {
        var e = Assert.Throws<UsageException>(() => Build("--hubble", "a=https://r:1", "--tls-ca", "a=/nonexistent/ca.crt"));
        Assert.StartsWith("option '--tls-ca a=':", e.Message);
    }
}
