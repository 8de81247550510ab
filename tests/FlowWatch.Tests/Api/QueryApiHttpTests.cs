using System.Net;
using System.Text.Json;
using FlowWatch.Api;
using FlowWatch.Findings;

namespace FlowWatch.Tests.Api;

/// <summary>The query API over real HTTP on 127.0.0.1, with the demo pipeline (all scenarios) behind it.</summary>
public sealed class QueryApiHttpTests(DemoServer server) : IClassFixture<DemoServer>
{
    private async Task<(HttpStatusCode Status, T? Body, string Raw)> Get<T>(string path)
    {
        using var response = await server.Http.GetAsync(path);
        var raw = await response.Content.ReadAsStringAsync();
        var body = response.Content.Headers.ContentType?.MediaType == "application/json" ? JsonSerializer.Deserialize<T>(raw, ApiJson.Options) : default;
        return (response.StatusCode, body, raw);
    }

    [Fact]
    public async Task Flows_VerdictDropped_GivesOnlyDrops_NewestFirst_InSnakeCase()
    {
        var (status, page, raw) = await Get<FlowsResponse>("/api/v1/flows?verdict=dropped&limit=50");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.NotEmpty(page!.Flows);
        Assert.All(page.Flows, f => Assert.Equal("dropped", f.Verdict));
        Assert.Contains(page.Flows, f => f.DropReason == "POLICY_DENIED" && f.DropReasonCode == 133);
        for (var i = 1; i < page.Flows.Count; i++) Assert.True(page.Flows[i].Id < page.Flows[i - 1].Id);
        Assert.Contains("\"drop_reason\":", raw);
        Assert.Contains("\"next_cursor\":", raw);
    }

    [Fact]
    public async Task Flows_PodAndPort_FilterBothSides_AndTheCursorPagesBack()
    {
        var (_, drops, _) = await Get<FlowsResponse>("/api/v1/flows?verdict=dropped&limit=1");
        var pod = drops!.Flows[0].Source;
        var (status, page1, _) = await Get<FlowsResponse>($"/api/v1/flows?pod={pod.Namespace}/{pod.Pod}&limit=5");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.All(page1!.Flows, f => Assert.True(f.Source.Pod == pod.Pod || f.Destination.Pod == pod.Pod));
        Assert.NotNull(page1.NextCursor);
        var (_, page2, _) = await Get<FlowsResponse>($"/api/v1/flows?pod={pod.Namespace}/{pod.Pod}&limit=5&cursor={page1.NextCursor}");
        Assert.NotEmpty(page2!.Flows);
        Assert.True(page2.Flows[0].Id < page1.Flows[^1].Id);
        var (_, dns, _) = await Get<FlowsResponse>("/api/v1/flows?port=53&namespace=kube-system&limit=20");
        Assert.All(dns!.Flows, f => Assert.True(f.Source.Port == 53 || f.Destination.Port == 53));
    }

    [Fact]
    public async Task Flows_After_FollowsNewFlows()
    {
        var (_, first, _) = await Get<FlowsResponse>("/api/v1/flows?limit=1");
        var latest = first!.Latest;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        FlowsResponse? next;
        do
        {
            Assert.True(DateTime.UtcNow < deadline, "no new flows within 20 s");
            await Task.Delay(50);
            (_, next, _) = await Get<FlowsResponse>($"/api/v1/flows?after={latest}&limit=100");
        } while (next!.Flows.Count == 0);
        Assert.All(next.Flows, f => Assert.True(f.Id > latest));
        for (var i = 1; i < next.Flows.Count; i++) Assert.True(next.Flows[i].Id > next.Flows[i - 1].Id);
    }

    [Theory]
    [InlineData("/api/v1/flows?verdict=sideways", "verdict")]
    [InlineData("/api/v1/flows?port=-1", "port")]
    [InlineData("/api/v1/flows?since=tomorrow", "since")]
    [InlineData("/api/v1/flows?limit=100000", "limit")]
    [InlineData("/api/v1/flows?ip=300.1.1.1", "ip")]
    [InlineData("/api/v1/flows?nmespace=shop", "nmespace")]
    [InlineData("/api/v1/findings?kind=bogus", "kind")]
    [InlineData("/api/v1/findings?state=closed", "state")]
    public async Task BadParameter_Gives400_NamingTheParameter(string path, string parameter)
    {
        var (status, error, _) = await Get<ApiError>(path);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(parameter, error!.Parameter);
        Assert.Contains(parameter, error.Error);
    }

    [Fact]
    public async Task Findings_FilterByKindAndNamespace()
    {
        var (status, all, _) = await Get<FindingsResponse>("/api/v1/findings");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(all!.Findings, f => f.Kind == FindingKind.DnsDrops);
        var (_, dns, raw) = await Get<FindingsResponse>("/api/v1/findings?kind=dns_drops&namespace=shop");
        Assert.NotEmpty(dns!.Findings);
        Assert.All(dns.Findings, f => { Assert.Equal(FindingKind.DnsDrops, f.Kind); Assert.Equal("shop", f.Subject.Namespace); });
        Assert.Contains("\"kind\":\"dns_drops\"", raw);
    }

    [Fact]
    public async Task Health_OfADroppingPod_HasDetectorSectionsAndRecentDrops()
    {
        var (_, drops, _) = await Get<FlowsResponse>("/api/v1/flows?verdict=dropped&namespace=shop&limit=1");
        var pod = drops!.Flows[0].Source.Namespace == "shop" ? drops.Flows[0].Source : drops.Flows[0].Destination;
        var (status, health, _) = await Get<PodHealthResponse>($"/api/v1/pods/{pod.Namespace}/{pod.Pod}/health");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("store", health!.KnownBy);
        Assert.NotEmpty(health.Sections);
        Assert.NotEmpty(health.RecentDrops);
        Assert.All(health.RecentDrops, f => Assert.Equal("dropped", f.Verdict));
    }

    [Fact]
    public async Task Health_OfAnUnknownPod_Is404()
    {
        var (status, error, _) = await Get<ApiError>("/api/v1/pods/shop/no-such-pod-abc12/health");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("shop/no-such-pod-abc12", error!.Error);
    }

    [Fact]
    public async Task Backends_OfAnUnknownService_Is404()
    {
        var (status, error, _) = await Get<ApiError>("/api/v1/services/shop/no-such-service/backends");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("shop/no-such-service", error!.Error);
    }

    [Fact]
    public async Task Cli_FlowsVerdictDropped_PrintsTheSimulatorsDrops()
    {
        var run = await CliRun.RunAsync("flows", "--verdict", "dropped", "--limit", "10", "--server", server.Address.ToString());
        Assert.True(run.ExitCode == 0, run.Stderr);
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, lines.Length);
        Assert.All(lines, l => Assert.Contains(" -> ", l));
        Assert.All(lines, l => Assert.Contains("DROPPED", l));
    }

    [Fact]
    public async Task Cli_FlowsJson_FindingsAndHealth_Answer()
    {
        var json = await CliRun.RunAsync("flows", "-o", "api", "--limit", "3", "--server", server.Address.ToString());
        Assert.True(json.ExitCode == 0, json.Stderr);
        Assert.Equal(3, JsonSerializer.Deserialize<FlowsResponse>(json.Stdout, ApiJson.Options)!.Flows.Count);

        var findings = await CliRun.RunAsync("findings", "--kind", "dns_drops", "--server", server.Address.ToString());
        Assert.True(findings.ExitCode == 0, findings.Stderr);
        Assert.Contains("dns_drops", findings.Stdout);

        var (_, drops, _) = await Get<FlowsResponse>("/api/v1/flows?verdict=dropped&namespace=shop&limit=1");
        var pod = drops!.Flows[0].Source.Namespace == "shop" ? drops.Flows[0].Source : drops.Flows[0].Destination;
        var health = await CliRun.RunAsync("health", $"{pod.Namespace}/{pod.Pod}", "--server", server.Address.ToString());
        Assert.True(health.ExitCode == 0, health.Stderr);
        Assert.Contains($"pod {pod.Namespace}/{pod.Pod}", health.Stdout);
        Assert.Contains("Recent drops", health.Stdout);
    }

    [Fact]
    public async Task Cli_BadParameterAndUnknownPod_ExitOneWithTheServersMessage()
    {
        var bad = await CliRun.RunAsync("flows", "--verdict", "sideways", "--server", server.Address.ToString());
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("400", bad.Stderr);
        Assert.Contains("verdict", bad.Stderr);
        var unknown = await CliRun.RunAsync("health", "shop/no-such-pod-abc12", "--server", server.Address.ToString());
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("404", unknown.Stderr);
    }
}
