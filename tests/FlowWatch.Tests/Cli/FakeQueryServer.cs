using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Tests.Cli;

/// <summary>A FlowWatch query API stand-in on 127.0.0.1 (Kestrel, port 0) that answers chosen JSON per path, so the
/// CLI's fleet commands can be driven with known findings, flows and failures. Answers are written in the API's wire
/// shape (snake_case) by hand: they are the contract the CLI reads, whatever the server's records look like.</summary>
internal sealed class FakeQueryServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Dictionary<string, (int Status, JsonNode Body)> _answers = new(StringComparer.Ordinal);

    private FakeQueryServer(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    /// <summary>When set, every request without <c>Authorization: Bearer</c> this token is answered 401, as a protected FlowWatch does.</summary>
    public string? RequiredToken { get; set; }

    /// <summary>Paths asked for, with their query strings, in order.</summary>
    public List<string> Requests { get; } = [];

    /// <summary>Answers <paramref name="path"/> (no query string) with <paramref name="body"/>.</summary>
    public FakeQueryServer Answer(string path, JsonNode body, int status = 200)
    {
        lock (_answers) _answers[path] = (status, body);
        return this;
    }

    public static async Task<FakeQueryServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => { k.Listen(IPAddress.Loopback, 0); k.AddServerHeader = false; });
        var app = builder.Build();
        var server = new FakeQueryServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Address = new Uri(app.Urls.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        lock (Requests) Requests.Add(path + context.Request.QueryString);
        if (RequiredToken is { } token && context.Request.Headers.Authorization.ToString() != $"Bearer {token}")
        {
            context.Response.StatusCode = 401;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(new JsonObject { ["error"] = "missing or wrong bearer token" }.ToJsonString());
            return;
        }
        (int Status, JsonNode Body) answer;
        lock (_answers)
            answer = _answers.TryGetValue(path, out var a) ? a : (404, new JsonObject { ["error"] = $"{path} is unknown to this FlowWatch" });
        var body = answer.Body;
        // /api/v1/flows?after=N answers only the flows past N, as the real store does, so that --follow can be driven.
        if (path == "/api/v1/flows" && answer.Status == 200 && long.TryParse(context.Request.Query["after"], out var after))
        {
            var copy = body.DeepClone().AsObject();
            copy["flows"] = new JsonArray(copy["flows"]!.AsArray().Where(f => (long)f!["id"]! > after).Select(f => f!.DeepClone()).ToArray());
            body = copy;
        }
        context.Response.StatusCode = answer.Status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>A finding as /api/v1/findings lists it; <paramref name="cluster"/> null leaves the field out.</summary>
    public static JsonObject Finding(string id, string kind, string severity, string ns, string workload, string summary,
        DateTimeOffset firstSeen, string state = "open", string? cluster = null)
    {
        var f = new JsonObject
        {
            ["id"] = id, ["kind"] = kind, ["severity"] = severity, ["state"] = state,
            ["subject"] = new JsonObject { ["namespace"] = ns, ["workload"] = workload },
            ["evidence"] = new JsonObject { ["dropped"] = 12 },
            ["first_seen"] = firstSeen.ToString("O"), ["last_seen"] = firstSeen.AddMinutes(1).ToString("O"),
            ["summary"] = summary, ["details"] = new JsonArray(),
        };
        if (cluster is not null) f["cluster"] = cluster;
        return f;
    }

    public static JsonObject Findings(params JsonObject[] findings) => new()
    {
        ["open"] = findings.Count(f => (string?)f["state"] == "open"),
        ["resolved"] = findings.Count(f => (string?)f["state"] != "open"),
        ["findings"] = new JsonArray(findings.Select(f => (JsonNode)f).ToArray()),
    };

    /// <summary>A dropped flow from <paramref name="fromPod"/> (namespace shop) to kube-dns, as /api/v1/flows lists it.</summary>
    public static JsonObject Flow(long id, DateTimeOffset time, string fromPod) => new()
    {
        ["id"] = id, ["time"] = time.ToString("O"), ["node"] = "node-1", ["verdict"] = "dropped", ["drop_reason"] = "POLICY_DENIED",
        ["drop_reason_code"] = 133, ["protocol"] = "udp",
        ["source"] = new JsonObject { ["ip"] = "10.0.0.5", ["port"] = 40000, ["identity"] = 1234, ["namespace"] = "shop", ["pod"] = fromPod, ["display"] = $"shop/{fromPod}" },
        ["destination"] = new JsonObject { ["ip"] = "10.96.0.10", ["port"] = 53, ["identity"] = 5678, ["namespace"] = "kube-system", ["pod"] = "coredns-1", ["display"] = "kube-system/coredns-1" },
        ["summary"] = "DNS Query example.com. A",
    };

    /// <summary>Newest first, as the API pages them.</summary>
    public static JsonObject Flows(params JsonObject[] flows) => new()
    {
        ["flows"] = new JsonArray(flows.OrderByDescending(f => (long)f["id"]!).Select(f => (JsonNode)f).ToArray()),
        ["latest"] = flows.Length == 0 ? 0 : flows.Max(f => (long)f["id"]!),
        ["retained"] = flows.Length, ["scanned"] = flows.Length,
    };

    public static JsonObject Backends(string ns, string service, params (string Pod, string State, long Completed, long Refused)[] backends) => new()
    {
        ["namespace"] = ns, ["service"] = service,
        ["backends"] = new JsonArray(backends.Select(b => (JsonNode)new JsonObject
        {
            ["namespace"] = ns, ["service"] = service, ["pod"] = b.Pod, ["node"] = "node-1", ["ip"] = "10.0.1.9", ["target_port"] = 8080,
            ["node_port"] = 30080, ["state"] = b.State, ["score"] = b.State == "healthy" ? 1 : 0,
            ["handshakes"] = new JsonObject { ["completed"] = b.Completed, ["refused"] = b.Refused },
            ["http_classes"] = new JsonObject(), ["ready"] = true,
        }).ToArray()),
    };

    public static JsonObject PodHealth(string ns, string pod) => new()
    {
        ["namespace"] = ns, ["pod"] = pod, ["known_by"] = new JsonArray("store"),
        ["sections"] = new JsonObject(), ["recent_drops"] = new JsonArray(), ["findings"] = new JsonArray(),
    };
}
