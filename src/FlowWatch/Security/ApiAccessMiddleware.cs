using Microsoft.AspNetCore.Http;
using Prometheus;

namespace FlowWatch.Security;

/// <summary>Refuses /api requests (and /metrics when asked) that carry no bearer token an authenticator accepts.</summary>
public sealed class ApiAccessMiddleware(IReadOnlyList<ITokenAuthenticator> authenticators, bool protectMetrics, IMetricFactory metrics)
{
    private readonly Counter _requests = metrics.CreateCounter("flowwatch_api_auth_total",
        "Requests to protected HTTP paths, by result (allowed, missing_token, bad_token).", ["result"]);

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path;
        var protectedPath = path.StartsWithSegments("/api") || protectMetrics && path.StartsWithSegments("/metrics");
        if (!protectedPath || authenticators.Count == 0) { await next(context); return; }
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7)
        {
            await Refuse(context, "missing_token", "this FlowWatch requires 'Authorization: Bearer TOKEN' for " + path);
            return;
        }
        var token = header[7..].Trim();
        foreach (var authenticator in authenticators)
        {
            if (await authenticator.AuthenticateAsync(token, context.RequestAborted) is not null)
            {
                _requests.WithLabels("allowed").Inc();
                await next(context);
                return;
            }
        }
        await Refuse(context, "bad_token", "the bearer token was not accepted");
    }

    private async Task Refuse(HttpContext context, string result, string message)
    {
        _requests.WithLabels(result).Inc();
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"flowwatch\"";
        await context.Response.WriteAsJsonAsync(new { error = message });
    }
}
