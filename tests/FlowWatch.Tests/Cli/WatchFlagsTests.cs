using FlowWatch.Cli.CommandLine;
using FlowWatch.Cli.Commands;

namespace FlowWatch.Tests.Cli;

/// <summary>Bad <c>flowwatch watch</c> flags fail before anything starts, naming the flag and the fix.</summary>
public sealed class WatchFlagsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fw-flags-").FullName;

    private string File(string name, string text = "placeholder")
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private static FlowWatch.Hubble.HubbleClientOptions Parse(params string[] argv)
    {
        var args = ParsedArgs.Parse(WatchCommand.Spec, argv);
        return WatchCommand.ClientOptions(args, args.Get("hubble")!);
    }

    [Fact]
    public void ReadsTlsFiltersAndIdleTimeout()
    {
        using var certs = FlowWatch.Tests.Hubble.TestCertificates.Create();
        var o = Parse("--hubble", "https://relay:443", "--tls-ca", certs.CaFile, "--tls-cert", certs.ClientCertFile, "--tls-key", certs.ClientKeyFile,
            "--tls-server-name", "*.hubble-relay.cilium.io", "--namespace", "shop,payments", "--namespace", "dns", "--node", "node-a",
            "--idle-timeout", "90s");
        Assert.Equal(["shop", "payments", "dns"], o.Namespaces);
        Assert.Equal(["node-a"], o.Nodes);
        Assert.Equal(TimeSpan.FromSeconds(90), o.IdleTimeout);
        Assert.Equal("*.hubble-relay.cilium.io", o.Tls.ServerName);
        Assert.Equal(certs.ClientKeyFile, o.Tls.KeyFile);
    }

    [Fact]
    public void KubernetesListing_PagesBy500AndStreamsByDefault_BothFlagsChangeIt_ABadPageSizeNamesItsFlag()
    {
        var defaults = WatchCommand.KubernetesArgs(ParsedArgs.Parse(WatchCommand.Spec, ["--hubble", "127.0.0.1:4245"])).Watch;
        Assert.Equal((500, true), (defaults.ListPageSize, defaults.WatchList));
        var set = WatchCommand.KubernetesArgs(ParsedArgs.Parse(WatchCommand.Spec,
            ["--hubble", "127.0.0.1:4245", "--kube-page-size", "0", "--no-watch-list"])).Watch;
        Assert.Equal((0, false), (set.ListPageSize, set.WatchList));
        var bad = Assert.Throws<UsageException>(() =>
            WatchCommand.KubernetesArgs(ParsedArgs.Parse(WatchCommand.Spec, ["--hubble", "127.0.0.1:4245", "--kube-page-size", "-1"])));
        Assert.Contains("--kube-page-size", bad.Message);
    }

    [Fact]
    public void KeyOfAnotherCertificate_NamesTlsKey_WithoutPrintingTheKey()
    {
        using var certs = FlowWatch.Tests.Hubble.TestCertificates.Create();
        var e = Assert.Throws<UsageException>(() => Parse("--hubble", "https://relay:443",
            "--tls-cert", certs.ClientCertFile, "--tls-key", certs.StrangerKeyFile));
        Assert.StartsWith("option '--tls-key':", e.Message);
        Assert.DoesNotContain("PRIVATE KEY", e.Message);
        var key = System.IO.File.ReadAllLines(certs.StrangerKeyFile)[1];
        Assert.DoesNotContain(key[..20], e.Message);
    }

    [Fact]
    public void CaFileThatIsNotPem_NamesTlsCa()
    {
        var e = Assert.Throws<UsageException>(() => Parse("--hubble", "https://relay:443", "--tls-ca", File("ca.crt", "not a certificate")));
        Assert.StartsWith("option '--tls-ca':", e.Message);
    }

    [Fact]
    public void CertWithoutKey_NamesTlsKey()
    {
        var e = Assert.Throws<UsageException>(() => Parse("--hubble", "https://relay:443", "--tls-cert", File("c.crt")));
        Assert.StartsWith("option '--tls-key':", e.Message);
        Assert.Contains("add the key file", e.Message);
    }

    [Fact]
    public void MissingKeyFile_NamesTheFlagAndThePath()
    {
        var missing = Path.Combine(_dir, "nope.key");
        var e = Assert.Throws<UsageException>(() => Parse("--hubble", "https://relay:443", "--tls-cert", File("c.crt"), "--tls-key", missing));
        Assert.Contains("check the path", e.Message);
        Assert.StartsWith("option '--tls-key':", e.Message);
        Assert.Contains(missing, e.Message);
        Assert.DoesNotContain("Parameter", e.Message);
    }

    [Fact]
    public void UnknownScheme_NamesHubble()
    {
        var e = Assert.Throws<UsageException>(() => Parse("--hubble", "grpc://relay:4245"));
        Assert.StartsWith("option '--hubble':", e.Message);
        Assert.Contains("unix:///", e.Message);
    }

    [Fact]
    public void TlsFlagsOnAPlaintextTarget_SayToUseHttps()
    {
        var e = Assert.Throws<UsageException>(() => Parse("--hubble", "relay:443", "--tls-ca", File("ca.crt")));
        Assert.Contains("--hubble https://relay:443", e.Message);
    }

    [Fact]
    public void BadIdleTimeout_NamesTheFlag()
    {
        var e = Assert.Throws<UsageException>(() => Parse("--hubble", "relay:80", "--idle-timeout", "10ms"));
        Assert.StartsWith("option '--idle-timeout':", e.Message);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
