using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Tests.Kube;

/// <summary>A small Kubernetes API server on 127.0.0.1 (Kestrel, port 0): list and chunked watch JSON for the kinds FlowWatch watches, and recorded POSTs.</summary>
internal sealed class FakeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Dictionary<string, FakeResource> _resources = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private long _rv = 100;

    private FakeApiServer(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;
    public FakeResource Pods => _resources["/api/v1/pods"];
    public FakeResource Services => _resources["/api/v1/services"];
    public FakeResource Nodes => _resources["/api/v1/nodes"];
    public FakeResource EndpointSlices => _resources["/apis/discovery.k8s.io/v1/endpointslices"];
    public FakeResource CiliumEndpoints => _resources["/apis/cilium.io/v2/ciliumendpoints"];
    public FakeResource CiliumNodes => _resources["/apis/cilium.io/v2/ciliumnodes"];

    /// <summary>Every POST: its path and body.</summary>
    public ConcurrentQueue<(string Path, JsonNode Body)> Posts { get; } = new();
    public ConcurrentQueue<(string Path, JsonNode Body)> Patches { get; } = new();

    /// <summary>Eviction responses: 201 unless set (429 for a PodDisruptionBudget).</summary>
    public int EvictionStatus { get; set; } = 201;

    public long NextResourceVersion() => Interlocked.Increment(ref _rv);
    public long CurrentResourceVersion => Interlocked.Read(ref _rv);

    public IEnumerable<(string Path, JsonNode Body)> Evictions => Posts.Where(p => p.Path.EndsWith("/eviction", StringComparison.Ordinal));

    public static async Task<FakeApiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => { k.Listen(IPAddress.Loopback, 0); k.AddServerHeader = false; });
        var app = builder.Build();
        var server = new FakeApiServer(app);
        server.Add("/api/v1/pods", "v1", "PodList");
        server.Add("/api/v1/services", "v1", "ServiceList");
        server.Add("/api/v1/nodes", "v1", "NodeList");
        server.Add("/apis/discovery.k8s.io/v1/endpointslices", "discovery.k8s.io/v1", "EndpointSliceList");
        server.Add("/apis/cilium.io/v2/ciliumendpoints", "cilium.io/v2", "CiliumEndpointList");
        server.Add("/apis/cilium.io/v2/ciliumnodes", "cilium.io/v2", "CiliumNodeList");
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Address = new Uri(app.Urls.First());
        return server;
    }

    private void Add(string path, string apiVersion, string listKind) => _resources[path] = new FakeResource(this, apiVersion, listKind);

    /// <summary>A client configured exactly as in production, pointed at this server.</summary>
    public IKubernetes Client() => new k8s.Kubernetes(new KubernetesClientConfiguration { Host = Address.ToString().TrimEnd('/') });

    private async Task HandleAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "";
        if (ctx.Request.Method == "POST" || ctx.Request.Method == "PATCH")
        {
            var body = await JsonNode.ParseAsync(ctx.Request.Body) ?? new JsonObject();
            (ctx.Request.Method == "POST" ? Posts : Patches).Enqueue((path, body));
            var status = path.EndsWith("/eviction", StringComparison.Ordinal) ? EvictionStatus : ctx.Request.Method == "POST" ? 201 : 200;
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            if (status >= 400) await ctx.Response.WriteAsync(Status(status, "refused by the fake API server"));
            else await ctx.Response.WriteAsync(body.ToJsonString());
            return;
        }
        if (ctx.Request.Method == "GET" && TryGetPod(path, out var podJson))
        {
            ctx.Response.ContentType = "application/json";
            if (podJson is null) { ctx.Response.StatusCode = 404; await ctx.Response.WriteAsync(Status(404, "not found")); }
            else await ctx.Response.WriteAsync(podJson);
            return;
        }
        if (!_resources.TryGetValue(path, out var resource) || resource.Absent)
        {
            if (resource is not null) resource.CountAbsentList();
            ctx.Response.StatusCode = 404;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(Status(404, $"the server could not find the requested resource ({path})"));
            return;
        }
        ctx.Response.ContentType = "application/json";
        if (ctx.Request.Query["watch"] != "true")
        {
            if (resource.ListDelay > TimeSpan.Zero) await Task.Delay(resource.ListDelay, ctx.RequestAborted);
            if (resource.TakeListFailure())
            {
                ctx.Response.StatusCode = 500;
                await ctx.Response.WriteAsync(Status(500, "list failed in the fake API server"));
                return;
            }
            await ctx.Response.WriteAsync(resource.ListJson());
            return;
        }
        if (resource.RefuseWatches)
        {
            ctx.Response.StatusCode = 500;
            await ctx.Response.WriteAsync(Status(500, "watch refused by the fake API server"));
            return;
        }
        var watch = resource.OpenWatch(ctx.Request.Query["resourceVersion"], ctx.Abort);
        try
        {
            await ctx.Response.StartAsync();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
            await foreach (var line in watch.Lines.Reader.ReadAllAsync(linked.Token))
            {
                await ctx.Response.WriteAsync(line + "\n", linked.Token);
                await ctx.Response.Body.FlushAsync(linked.Token);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        finally { watch.Close(); }
    }

    private bool TryGetPod(string path, out string? json)
    {
        json = null;
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // /api/v1/namespaces/{ns}/pods/{name}
        if (parts.Length != 6 || parts[0] != "api" || parts[2] != "namespaces" || parts[4] != "pods") return false;
        json = Pods.Get(parts[3], parts[5]);
        return true;
    }

    private static string Status(int code, string message) => new JsonObject
    {
        ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure",
        ["message"] = message, ["reason"] = code == 404 ? "NotFound" : "TooManyRequests", ["code"] = code,
    }.ToJsonString();

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}
