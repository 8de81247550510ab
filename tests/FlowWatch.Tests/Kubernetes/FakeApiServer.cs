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
internal sealed partial class FakeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Dictionary<string, FakeResource> _resources = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private long _rv = 100;

    private FakeApiServer(WebApplication app)
    {
        _app = app;
        Leases = new FakeLeases(this);
    }

    public Uri Address { get; private set; } = null!;
    public FakeResource Pods => _resources["/api/v1/pods"];
    public FakeResource Services => _resources["/api/v1/services"];
    public FakeResource Nodes => _resources["/api/v1/nodes"];
    public FakeResource EndpointSlices => _resources["/apis/discovery.k8s.io/v1/endpointslices"];
    public FakeResource CiliumEndpoints => _resources["/apis/cilium.io/v2/ciliumendpoints"];
    public FakeResource CiliumNodes => _resources["/apis/cilium.io/v2/ciliumnodes"];

    public FakeLeases Leases { get; }

    /// <summary>A granted eviction deletes the pod, as the real API server does (once its grace period is over).</summary>
    public bool EvictionsDeletePods { get; set; }

    /// <summary>Every POST: its path and body.</summary>
    public ConcurrentQueue<(string Path, JsonNode Body)> Posts { get; } = new();
    public ConcurrentQueue<(string Path, JsonNode Body)> Patches { get; } = new();
    private readonly ConcurrentDictionary<string, byte> _createdEvents = new(StringComparer.Ordinal);

    /// <summary>Eviction responses: 201 unless set (429 for a PodDisruptionBudget).</summary>
    public int EvictionStatus { get; set; } = 201;

    /// <summary>Every open watch that asked for bookmarks gets one this often (the real server sends them about once a minute); off when null.</summary>
    public TimeSpan? BookmarkInterval { get; set; }

    private Task? _bookmarkLoop;

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
        server._bookmarkLoop = server.BookmarkLoopAsync();
        server.Address = new Uri(app.Urls.First());
        return server;
    }

    private void Add(string path, string apiVersion, string listKind) => _resources[path] = new FakeResource(this, apiVersion, listKind);

    /// <summary>Writes a kubeconfig at <paramref name="path"/> whose one context ("fake") points at this server with a
    /// bearer token, as a user's kubeconfig would point at a real API server.</summary>
    public Task WriteKubeconfigAsync(string path) => File.WriteAllTextAsync(path, $$"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: fake
          cluster: {server: {{Address.ToString().TrimEnd('/')}}}
        users:
        - name: tester
          user: {token: test-token}
        contexts:
        - name: fake
          context: {cluster: fake, user: tester}
        current-context: fake
        """);

    /// <summary>A client configured exactly as in production, pointed at this server.</summary>
    public IKubernetes Client() => new k8s.Kubernetes(new KubernetesClientConfiguration { Host = Address.ToString().TrimEnd('/') });

    private async Task HandleAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "";
        if (path.StartsWith(FakeLeases.Prefix, StringComparison.Ordinal) && path.Contains("/leases", StringComparison.Ordinal))
        {
            await Leases.HandleAsync(ctx, path);
            return;
        }
        if (ctx.Request.Method == "POST" || ctx.Request.Method == "PATCH")
        {
            var body = await JsonNode.ParseAsync(ctx.Request.Body) ?? new JsonObject();
            (ctx.Request.Method == "POST" ? Posts : Patches).Enqueue((path, body));
            var status = path.EndsWith("/eviction", StringComparison.Ordinal) ? EvictionStatus : ctx.Request.Method == "POST" ? 201 : 200;
            // As the real server: a second object of one name is refused (409 AlreadyExists).
            if (status == 201 && path.EndsWith("/events", StringComparison.Ordinal) && (string?)body["metadata"]?["name"] is { } created
                && !_createdEvents.TryAdd($"{path}/{created}", 0)) status = 409;
            if (status == 201 && EvictionsDeletePods && path.EndsWith("/eviction", StringComparison.Ordinal) && path.Split('/') is { Length: 8 } p
                && Pods.Get(p[4], p[6]) is not null) Pods.Delete(p[4], p[6]);
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
        var query = ctx.Request.Query;
        if (query["watch"] != "true")
        {
            if (resource.ListDelay > TimeSpan.Zero) await Task.Delay(resource.ListDelay, ctx.RequestAborted);
            if (resource.TakeListFailure())
            {
                ctx.Response.StatusCode = 500;
                await ctx.Response.WriteAsync(Status(500, "InternalError", "list failed in the fake API server"));
                return;
            }
            int? limit = int.TryParse(query["limit"], out var l) ? l : null;
            var page = resource.List(limit, query["continue"]);
            if (page.ErrorCode != 0)
            {
                ctx.Response.StatusCode = page.ErrorCode;
                await ctx.Response.WriteAsync(page.ErrorBody!);
                return;
            }
            await resource.WriteListAsync(ctx.Response.Body, page, ctx.RequestAborted);
            return;
        }
        if (resource.RefuseWatches)
        {
            ctx.Response.StatusCode = 500;
            await ctx.Response.WriteAsync(Status(500, "InternalError", "watch refused by the fake API server"));
            return;
        }
        var bookmarks = query["allowWatchBookmarks"] == "true";
        var initialEvents = query["sendInitialEvents"] == "true";
        if (initialEvents && InvalidWatchList(resource, bookmarks, query["resourceVersionMatch"]) is { } invalid)
        {
            resource.CountRefusedWatchList();
            ctx.Response.StatusCode = 422;
            await ctx.Response.WriteAsync(Status(422, "Invalid", invalid));
            return;
        }
        var watch = resource.OpenWatch(query["resourceVersion"], bookmarks, initialEvents, ctx.Abort);
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

    /// <summary>The real server's validation of a watch-list request (sendInitialEvents=true); null when it is valid.</summary>
    private static string? InvalidWatchList(FakeResource resource, bool bookmarks, string? match)
    {
        if (!resource.WatchListSupported) return "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled";
        if (match != "NotOlderThan") return $"resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan (got \"{match}\")";
        if (!bookmarks) return "allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true";
        return null;
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

    private static string Status(int code, string message) =>
        Status(code, code == 404 ? "NotFound" : code == 429 ? "TooManyRequests" : "InternalError", message);

    /// <summary>A Status body as the real API server sends with an error (and, for an expired continue token, the token for the rest).</summary>
    public static string Status(int code, string reason, string message, string? continueToken = null) =>
        StatusNode(code, reason, message, continueToken).ToJsonString();

    public static JsonObject StatusNode(int code, string reason, string message, string? continueToken = null) => new()
    {
        ["kind"] = "Status", ["apiVersion"] = "v1",
        ["metadata"] = continueToken is null ? new JsonObject() : new JsonObject { ["continue"] = continueToken },
        ["status"] = "Failure", ["message"] = message, ["reason"] = reason, ["code"] = code,
    };

    private async Task BookmarkLoopAsync()
    {
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                await Task.Delay(BookmarkInterval ?? TimeSpan.FromMilliseconds(100), _stopping.Token);
                if (BookmarkInterval is not null)
                    foreach (var r in _resources.Values) r.Bookmark();
            }
        }
        catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        if (_bookmarkLoop is not null) await _bookmarkLoop;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}
