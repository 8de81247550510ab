using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FlowWatch.Api;

/// <summary>One endpoint FlowWatch serves, as <c>/</c> and <c>/api/v1</c> list it.</summary>
public sealed record EndpointEntry(string Path, string Description, string? Example = null);

/// <summary>Answer of <c>GET /</c> and <c>GET /api/v1</c>: what can be asked here, so that a curl of the address is not a bare 404.</summary>
public sealed record ApiIndexResponse(string Service, IReadOnlyList<EndpointEntry> Endpoints, [property: JsonPropertyOrder(-1)] string? Cluster = null);

/// <summary>The index pages: <c>/</c> lists every endpoint, <c>/api/v1</c> the query API's.</summary>
public static class ApiIndex
{
    public static readonly IReadOnlyList<EndpointEntry> Query =
    [
        new("/api/v1/flows", "recent flows, newest first; filters namespace, pod, workload, label, ip, port, protocol, identity, type, verdict, reason, node, since, until, limit, cursor, after; format=jsonpb or json for hubble observe's lines, oldest first",
            "/api/v1/flows?verdict=dropped&limit=20"),
        new("/api/v1/findings", "open findings, then recently resolved ones; filters kind, namespace, state (open, resolved, all), limit",
            "/api/v1/findings?state=open"),
        new("/api/v1/pods/{namespace}/{pod}/health", "everything FlowWatch knows about one pod: each detector's section, its findings, its recent drops"),
        new("/api/v1/services/{namespace}/{service}/backends", "per-backend health behind a NodePort/LoadBalancer service"),
    ];

    public static readonly IReadOnlyList<EndpointEntry> All =
    [
        new("/metrics", "Prometheus metrics"),
        new("/healthz", "liveness: 200 while the process serves"),
        new("/readyz", "readiness: 200, or 503 with the reasons FlowWatch is not ready"),
        new("/api/v1", "the query API's endpoints"),
        .. Query,
    ];

    public static void Map(IEndpointRouteBuilder app) => Map(app, null);

    /// <param name="cluster">The cluster this FlowWatch reports on, named in both answers.</param>
    public static void Map(IEndpointRouteBuilder app, string? cluster)
    {
        app.MapGet("/", () => Results.Json(new ApiIndexResponse("flowwatch", All, cluster), ApiJson.Indented));
        app.MapGet("/api/v1", () => Results.Json(new ApiIndexResponse("flowwatch query API", Query, cluster), ApiJson.Indented));
    }
}
