using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace FlowWatch.Tests.Kube;

/// <summary>coordination.k8s.io/v1 Leases of the fake API server: get, create (409 AlreadyExists), update with optimistic concurrency (409 Conflict on a stale resourceVersion).</summary>
internal sealed class FakeLeases(FakeApiServer server)
{
    public const string Prefix = "/apis/coordination.k8s.io/v1/namespaces/";
    private readonly object _gate = new();
    private readonly Dictionary<string, JsonNode> _leases = new(StringComparer.Ordinal);

    public int Conflicts { get; private set; }

    /// <summary>The Lease's holderIdentity, or null when there is no such Lease.</summary>
    public string? Holder(string ns, string name)
    {
        lock (_gate) return _leases.TryGetValue($"{ns}/{name}", out var l) ? (string?)l["spec"]?["holderIdentity"] : null;
    }

    public async Task HandleAsync(HttpContext ctx, string path)
    {
        // /apis/coordination.k8s.io/v1/namespaces/{ns}/leases[/{name}]
        var parts = path[Prefix.Length..].Split('/');
        var ns = parts[0];
        var name = parts.Length > 2 ? parts[2] : null;
        JsonNode? body = ctx.Request.Method is "POST" or "PUT" ? await JsonNode.ParseAsync(ctx.Request.Body) : null;
        var (status, answer) = Handle(ctx.Request.Method, ns, name, body);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(answer);
    }

    private (int, string) Handle(string method, string ns, string? name, JsonNode? body)
    {
        lock (_gate)
        {
            switch (method)
            {
                case "GET" when name is not null:
                    return _leases.TryGetValue($"{ns}/{name}", out var found) ? (200, found.ToJsonString()) : NotFound(name);
                case "POST" when name is null && body is not null:
                    var created = (string?)body["metadata"]?["name"] ?? "";
                    if (_leases.ContainsKey($"{ns}/{created}"))
                        return (409, FakeApiServer.Status(409, "AlreadyExists", $"leases.coordination.k8s.io \"{created}\" already exists"));
                    return (201, Store(ns, created, body));
                case "PUT" when name is not null && body is not null:
                    if (!_leases.TryGetValue($"{ns}/{name}", out var current)) return NotFound(name);
                    if ((string?)body["metadata"]?["resourceVersion"] != (string?)current["metadata"]?["resourceVersion"])
                    {
                        Conflicts++;
                        return (409, FakeApiServer.Status(409, "Conflict",
                            $"Operation cannot be fulfilled on leases.coordination.k8s.io \"{name}\": the object has been modified; please apply your changes to the latest version and try again"));
                    }
                    return (200, Store(ns, name, body));
                default:
                    return (405, FakeApiServer.Status(405, "MethodNotAllowed", $"{method} is not supported on leases by the fake API server"));
            }
        }
    }

    private static (int, string) NotFound(string name) =>
        (404, FakeApiServer.Status(404, "NotFound", $"leases.coordination.k8s.io \"{name}\" not found"));

    private string Store(string ns, string name, JsonNode body)
    {
        var lease = body.DeepClone();
        lease["apiVersion"] = "coordination.k8s.io/v1";
        lease["kind"] = "Lease";
        var meta = lease["metadata"] as JsonObject ?? new JsonObject();
        lease["metadata"] = meta;
        meta["namespace"] = ns;
        meta["name"] = name;
        meta["uid"] ??= $"uid-lease-{ns}-{name}";
        meta["resourceVersion"] = server.NextResourceVersion().ToString();
        _leases[$"{ns}/{name}"] = lease;
        return lease.ToJsonString();
    }
}
