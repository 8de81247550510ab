using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using FlowWatch.Tests.Api;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Cli;

/// <summary>The built CLI's query commands over several <c>--server NAME=URL</c> (two or three query API servers on
/// 127.0.0.1): answers merged with a CLUSTER column, a server that fails named without losing the others (exit 3).</summary>
public sealed class MultiServerCliTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow.AddMinutes(-30);
    private static readonly Dictionary<string, string> Wide = new() { ["COLUMNS"] = "200" };
    private readonly List<FakeQueryServer> _servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var s in _servers) await s.DisposeAsync();
    }

    private async Task<FakeQueryServer> Server()
    {
        var s = await FakeQueryServer.StartAsync();
        _servers.Add(s);
        return s;
    }

    private async Task<CliRun.Result> Run(params string[] args)
    {
        var r = await CliRun.RunAsync(Wide, args);
        output.WriteLine($"$ flowwatch {string.Join(' ', args)}\nexit {r.ExitCode}\n{r.Stdout}{r.Stderr}");
        return r;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private async Task<(FakeQueryServer A, FakeQueryServer B)> TwoClustersWithFindings()
    {
        var a = (await Server()).Answer("/api/v1/findings", FakeQueryServer.Findings(
            FakeQueryServer.Finding("dns_drops/shop/checkout", "dns_drops", "warning", "shop", "checkout", "shop/checkout loses DNS lookups", T0)));
        var b = (await Server()).Answer("/api/v1/findings", FakeQueryServer.Findings(
            FakeQueryServer.Finding("duplicate_ip/10.0.0.7", "duplicate_ip", "critical", "web", "", "10.0.0.7 is claimed by two pods", T0.AddMinutes(5)),
            FakeQueryServer.Finding("dns_drops/shop/checkout", "dns_drops", "warning", "shop", "checkout", "shop/checkout loses DNS lookups", T0.AddMinutes(2))));
        return (a, b);
    }

    [Fact]
    public async Task Findings_FromTwoServers_AreMergedBySeverity_WithAClusterColumn()
    {
        var (a, b) = await TwoClustersWithFindings();
        var r = await Run("findings", "--server", $"eu={a.Address}", "--server", $"us={b.Address}");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var rows = Lines(r.Stdout);
        Assert.StartsWith("CLUSTER  SEVERITY  STATE  KIND", rows[0]);
        // The critical one first (from us), then the two warnings oldest first; the same finding id in two clusters is two rows.
        Assert.StartsWith("us       critical", rows[1]);
        Assert.StartsWith("eu       warning", rows[2]);
        Assert.StartsWith("us       warning", rows[3]);
        Assert.Equal("3 open, 0 recently resolved in 2 clusters", rows[4]);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public async Task TheClusterAnAnswerNames_WinsOverTheServersName()
    {
        var a = (await Server()).Answer("/api/v1/findings", new JsonObject
        {
            ["cluster"] = "prod-eu-1", ["open"] = 1, ["resolved"] = 0,
            ["findings"] = new JsonArray(FakeQueryServer.Finding("x", "dns_drops", "warning", "shop", "cart", "cart loses DNS lookups", T0)),
        });
        var b = (await Server()).Answer("/api/v1/findings", FakeQueryServer.Findings(
            FakeQueryServer.Finding("y", "dns_drops", "warning", "shop", "cart", "cart loses DNS lookups", T0.AddMinutes(1), cluster: "prod-us-2")));
        var r = await Run("findings", "--server", $"first={a.Address}", "--server", $"second={b.Address}", "-o", "wide");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var rows = Lines(r.Stdout);
        Assert.StartsWith("prod-eu-1 ", rows[1]);
        Assert.StartsWith("prod-us-2 ", rows[2]);
        Assert.DoesNotContain("first", r.Stdout);
    }

    [Fact]
    public async Task OneServerFailing_IsNamedOnStderr_TheOthersRowsStay_AndTheExitCodeIsThree()
    {
        var (a, _) = await TwoClustersWithFindings();
        var broken = (await Server()).Answer("/api/v1/findings", new JsonObject { ["error"] = "store is loading" }, status: 503);
        var refused = RefusedPort();
        var r = await Run("findings", "--server", $"eu={a.Address}", "--server", $"ap={broken.Address}", "--server", $"us=http://127.0.0.1:{refused}");
        Assert.Equal(3, r.ExitCode);
        var rows = Lines(r.Stdout);
        Assert.Equal(3, rows.Length);
        Assert.StartsWith("eu       warning", rows[1]);
        Assert.Equal("1 open, 0 recently resolved in cluster eu", rows[2]);
        var errors = Lines(r.Stderr);
        Assert.Equal(3, errors.Length);
        Assert.Contains("server ap (", errors[0]);
        Assert.Contains("503", errors[0]);
        Assert.Contains("store is loading", errors[0]);
        Assert.Contains($"server us (http://127.0.0.1:{refused}/) did not answer: cannot reach FlowWatch: connection refused", errors[1]);
        Assert.Contains("2 of 3 servers did not answer (ap, us)", errors[2]);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public async Task NoServerAnswering_ExitsOne()
    {
        var broken = (await Server()).Answer("/api/v1/findings", new JsonObject { ["error"] = "store is loading" }, status: 503);
        var r = await Run("findings", "--server", $"eu={broken.Address}", "--server", $"us=http://127.0.0.1:{RefusedPort()}");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Equal(2, Lines(r.Stderr).Length);
    }

    [Fact]
    public async Task FindingsJson_CarriesEachFindingsCluster_AndWhoDidNotAnswer()
    {
        var (a, b) = await TwoClustersWithFindings();
        var broken = (await Server()).Answer("/api/v1/findings", new JsonObject { ["error"] = "store is loading" }, status: 503);
        var r = await Run("findings", "-o", "json", "--server", $"eu={a.Address},us={b.Address}", "--server", $"ap={broken.Address}");
        Assert.Equal(3, r.ExitCode);
        var json = JsonNode.Parse(r.Stdout)!;
        Assert.Equal(["critical us", "warning eu", "warning us"],
            json["findings"]!.AsArray().Select(f => $"{f!["severity"]} {f["cluster"]}"));
        var servers = json["servers"]!.AsArray();
        Assert.Equal(["eu", "us", "ap"], servers.Select(s => (string)s!["name"]!));
        Assert.Null(servers[0]!["error"]);
        Assert.Contains("store is loading", (string)servers[2]!["error"]!);
        Assert.Equal(3, (int)json["open"]!);
    }

    [Fact]
    public async Task Flows_FromTwoServers_AreMergedByTime_NewestLimitKept_EachLineLedByItsCluster()
    {
        var a = (await Server()).Answer("/api/v1/flows", FakeQueryServer.Flows(
            FakeQueryServer.Flow(1, T0, "checkout-a1"), FakeQueryServer.Flow(2, T0.AddSeconds(20), "checkout-a2")));
        var b = (await Server()).Answer("/api/v1/flows", FakeQueryServer.Flows(
            FakeQueryServer.Flow(7, T0.AddSeconds(10), "checkout-b1"), FakeQueryServer.Flow(8, T0.AddSeconds(30), "checkout-b2")));
        var r = await Run("flows", "--verdict", "dropped", "--limit", "3", "--server", $"eu={a.Address}", "--server", $"us-east={b.Address}");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = Lines(r.Stdout);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("us-east  ", lines[0]);
        Assert.Contains("shop/checkout-b1", lines[0]);
        Assert.StartsWith("eu       ", lines[1]);
        Assert.Contains("shop/checkout-a2", lines[1]);
        Assert.Contains("shop/checkout-b2", lines[2]);
        Assert.All(lines, l => Assert.Contains("DROPPED POLICY_DENIED", l));
        // Each server was asked the same question.
        Assert.All(new[] { a, b }, s => Assert.Contains("/api/v1/flows?verdict=dropped&limit=3", s.Requests));
    }

    [Theory]
    [InlineData("-o", "jsonpb")]
    [InlineData("-o", "json")]
    [InlineData("--all", "-o", "jsonpb")]
    [InlineData("--all")]
    public async Task FlowExport_AcrossSeveralServers_IsRefused_NamingBothWaysOut_BeforeAskingAnyServer(params string[] export)
    {
        var a = (await Server()).Answer("/api/v1/flows", FakeQueryServer.Flows(FakeQueryServer.Flow(1, T0, "checkout-a1")));
        var b = (await Server()).Answer("/api/v1/flows", FakeQueryServer.Flows(FakeQueryServer.Flow(7, T0, "checkout-b1")));
        var r = await Run(["flows", .. export, "--server", $"eu={a.Address}", "--server", $"us={b.Address}"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Single(Lines(r.Stderr));
        Assert.Contains("exports one server's flows", r.Stderr);
        Assert.Contains("2 servers are given", r.Stderr);
        Assert.Contains($"--server {a.Address} > eu.jsonl", r.Stderr);
        Assert.Contains("-o api", r.Stderr);
        Assert.Empty(a.Requests);
        Assert.Empty(b.Requests);
    }

    [Fact]
    public async Task Backends_OfOneServiceInTwoClusters_AreOneTableWorstFirst_AndAClusterWithoutItIsNoFailure()
    {
        var a = (await Server()).Answer("/api/v1/services/web/storefront/backends",
            FakeQueryServer.Backends("web", "storefront", ("storefront-0", "healthy", 90, 0), ("storefront-1", "healthy", 80, 0)));
        var b = (await Server()).Answer("/api/v1/services/web/storefront/backends",
            FakeQueryServer.Backends("web", "storefront", ("storefront-0", "healthy", 90, 0), ("storefront-1", "unhealthy", 5, 40)));
        var c = await Server(); // knows no such service: 404
        var r = await Run("backends", "web/storefront", "--server", $"eu={a.Address}", "--server", $"us={b.Address}", "--server", $"ap={c.Address}");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = Lines(r.Stdout);
        Assert.Equal("service web/storefront in eu: 2 backends (2 healthy)", lines[0]);
        Assert.Equal("service web/storefront in us: 2 backends (1 healthy, 1 unhealthy)", lines[1]);
        Assert.StartsWith("CLUSTER  STATE", lines[2]);
        Assert.StartsWith("us       unhealthy  storefront-1", lines[3]);
        Assert.Equal(7, lines.Length);
        Assert.DoesNotContain(" ap ", r.Stdout);
    }

    [Fact]
    public async Task Health_PrintsEachClusterThatKnowsThePod_AndExitsOneWhenNoneDoes()
    {
        var a = (await Server()).Answer("/api/v1/pods/shop/checkout-1/health", FakeQueryServer.PodHealth("shop", "checkout-1"));
        var b = await Server();
        var found = await Run("health", "shop/checkout-1", "--server", $"eu={a.Address}", "--server", $"us={b.Address}");
        Assert.True(found.ExitCode == 0, found.Stderr);
        Assert.StartsWith("cluster eu:\npod shop/checkout-1", found.Stdout);
        Assert.DoesNotContain("cluster us", found.Stdout);

        var missing = await Run("health", "shop/nosuch-1", "--server", $"eu={a.Address}", "--server", $"us={b.Address}");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("pod shop/nosuch-1 is unknown to every server (eu, us)", missing.Stderr);
    }

    [Theory]
    [InlineData("unnamed", "with several servers, name each one")]
    [InlineData("twice", "the name 'eu' is given twice")]
    [InlineData("badname", "'e u' is not a server name")]
    [InlineData("noaddress", "'eu=' has no address")]
    public async Task BadServerLists_AreUsageErrors_NamingTheFix(string @case, string message)
    {
        string[] servers = @case switch
        {
            "unnamed" => ["--server", "http://127.0.0.1:1", "--server", "http://127.0.0.1:2"],
            "twice" => ["--server", "eu=http://127.0.0.1:1", "--server", "eu=http://127.0.0.1:2"],
            "badname" => ["--server", "e u=http://127.0.0.1:1"],
            _ => ["--server", "eu="],
        };
        var r = await Run(["findings", .. servers]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Single(Lines(r.Stderr));
    }

    [Fact]
    public async Task OneNamedServer_GetsTheClusterColumn_AndAPlainUrlKeepsTheSingleServerTable()
    {
        var (a, _) = await TwoClustersWithFindings();
        var named = await Run("findings", "--server", $"eu={a.Address}");
        Assert.StartsWith("CLUSTER ", named.Stdout);
        var plain = await Run("findings", "--server", a.Address.ToString());
        Assert.StartsWith("SEVERITY ", plain.Stdout);
    }

    [Fact]
    public async Task ClustersFile_GivesEachServerItsOwnToken_ReadFromPathsBesideTheFile()
    {
        var (a, b) = await TwoClustersWithFindings();
        a.RequiredToken = "token-of-eu";
        b.RequiredToken = "token-of-us";
        var dir = Directory.CreateTempSubdirectory("flowwatch-clusters-file-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "tokens"));
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "tokens", "eu"), "token-of-eu\n");
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "tokens", "us"), "token-of-us\n");
            var file = Path.Combine(dir.FullName, "clusters.yaml");
            await File.WriteAllTextAsync(file, $"""
                servers:
                  - name: eu
                    url: {a.Address}
                    token-file: tokens/eu
                  - name: us
                    url: {b.Address}
                    token-file: tokens/us
                """);
            var r = await Run("findings", "--clusters-file", file);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal(3, Lines(r.Stdout).Count(l => l.StartsWith("eu ") || l.StartsWith("us ")));

            // One token for both (FLOWWATCH_TOKEN) fits only eu: us answers 401, named with the hint, and eu's rows stay.
            var shared = await CliRun.RunAsync(new Dictionary<string, string> { ["FLOWWATCH_TOKEN"] = "token-of-eu", ["COLUMNS"] = "200" },
                "findings", "--server", $"eu={a.Address}", "--server", $"us={b.Address}");
            Assert.Equal(3, shared.ExitCode);
            Assert.Contains("server us", shared.Stderr);
            Assert.Contains("401", shared.Stderr);
            Assert.Contains(Lines(shared.Stdout), l => l.StartsWith("eu "));
            Assert.DoesNotContain("token-of", shared.Stdout + shared.Stderr);

            await File.WriteAllTextAsync(file, "servers:\n  - name: eu\n    adress: http://127.0.0.1:1\n");
            var bad = await Run("findings", "--clusters-file", file);
            Assert.Equal(1, bad.ExitCode);
            Assert.Contains($"{file} line 3: unknown key 'adress'", bad.Stderr);
            Assert.Single(Lines(bad.Stderr));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    // A port that was free a moment ago: bound, read, released (as CliWithoutServerTests does).
    private static int RefusedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
