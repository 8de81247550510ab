using FlowWatch.Detectors;
using FlowWatch.Findings;
using FlowWatch.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FlowWatch.Api;

/// <summary>What the query API reads: the store, the findings and the detectors' insights; and the gate every query passes.</summary>
/// <param name="Cluster">The cluster this FlowWatch reports on, named in every answer.</param>
public sealed record QueryApiContext(FlowStore Store, FindingBook Findings, IReadOnlyList<IDetector> Detectors, TimeProvider Time, QueryAdmission? Gate = null,
    string Cluster = ClusterName.Default)
{
    /// <summary>The gate given, or one with the default bounds (its metrics in a registry of its own).</summary>
    public QueryAdmission Admission { get; } = Gate ?? new QueryAdmission(QueryAdmissionOptions.Default,
        Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
}

/// <summary>The query API under <c>/api/v1</c>: flows, findings, pod health and service backends, as snake_case JSON.</summary>
public static class QueryApi
{
    public const int RecentDropsInHealth = 20;

    /// <summary>What answers other than flows are reckoned to hold while built and written.</summary>
    private const long SmallAnswerBytes = 1 << 20;

    public static void Map(IEndpointRouteBuilder app, QueryApiContext context)
    {
        app.MapGet("/api/v1/flows", (HttpContext http) => FlowsAsync(http, context));
        app.MapGet("/api/v1/findings", (HttpContext http) => Admitted(http, context, () => FindingsAnswer(http.Request, context)));
        app.MapGet("/api/v1/pods/{namespace}/{pod}/health",
            (string @namespace, string pod, HttpContext http) => Admitted(http, context, () => Health(@namespace, pod, http.Request, context)));
        app.MapGet("/api/v1/services/{namespace}/{service}/backends",
            (string @namespace, string service, HttpContext http) => Admitted(http, context, () => Backends(@namespace, service, http.Request, context)));
    }

    private static IResult BadParameter(BadParameterException e, QueryApiContext context) =>
        Results.Json(new ApiError(e.Message, e.Parameter, context.Cluster), ApiJson.Options, statusCode: StatusCodes.Status400BadRequest);

    /// <summary>Runs a small answer inside the admission gate (it may read the store, which costs CPU ingest needs).</summary>
    private static async Task Admitted(HttpContext http, QueryApiContext context, Func<IResult> handler)
    {
        using var admission = await context.Admission.EnterAsync(SmallAnswerBytes, http.RequestAborted).ConfigureAwait(false);
        IResult result;
        if (!admission.Admitted) result = Refused(http, admission, context);
        else
        {
            try { result = handler(); }
            catch (BadParameterException e) { result = BadParameter(e, context); }
            admission.EndScan();
        }
        await result.ExecuteAsync(http).ConfigureAwait(false);
    }

    private static IResult Refused(HttpContext http, Admission admission, QueryApiContext context)
    {
        http.Response.Headers.RetryAfter = admission.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Results.Json(new ApiError(admission.Reason!, Cluster: context.Cluster), ApiJson.Options, statusCode: admission.Status);
    }

    private static IResult Json(object value) => Results.Json(value, ApiJson.Options);

    private static IResult NotFound(string message, QueryApiContext context) =>
        Results.Json(new ApiError(message, Cluster: context.Cluster), ApiJson.Options, statusCode: StatusCodes.Status404NotFound);

    /// <summary>Parses, waits for admission, scans within the budget, frees the scan slot, then streams the answer.</summary>
    private static async Task FlowsAsync(HttpContext http, QueryApiContext context)
    {
        FlowQuery query;
        FlowAnswerFormat format;
        try
        {
            query = QueryParameters.ParseFlows(name => Single(http.Request, name), http.Request.Query.Keys, context.Time.GetUtcNow());
            format = QueryParameters.ParseFormat(name => Single(http.Request, name));
        }
        catch (BadParameterException e) { await BadParameter(e, context).ExecuteAsync(http).ConfigureAwait(false); return; }
        var limit = Math.Clamp(query.Limit, 1, FlowQuery.MaxLimit);
        using var admission = await context.Admission.EnterAsync((long)limit * QueryAdmissionOptions.BytesPerFlow, http.RequestAborted).ConfigureAwait(false);
        if (!admission.Admitted) { await Refused(http, admission, context).ExecuteAsync(http).ConfigureAwait(false); return; }
        var options = context.Admission.Options;
        FlowPage page;
        try { page = context.Store.Query(query, new ScanBudget(options.MaxScannedRows, options.MaxScanTime)); }
        finally { admission.EndScan(); }
        using var written = page;
        if (format == FlowAnswerFormat.Api)
            await FlowsWriter.WriteAsync(http.Response, page, context.Store.Count, context.Cluster, http.RequestAborted).ConfigureAwait(false);
        else
            await HubbleLinesWriter.WriteAsync(http.Response, page, context.Store.Count, http.RequestAborted).ConfigureAwait(false);
    }

    private static IResult FindingsAnswer(HttpRequest request, QueryApiContext context)
    {
        QueryParameters.RejectUnknown(request.Query.Keys, ["kind", "namespace", "state", "limit"]);
        FindingKind? kind = null;
        if (Single(request, "kind") is { } kindText)
            kind = Finding.TryParseKind(kindText, out var k) ? k : throw new BadParameterException("kind",
                $"kind: '{kindText}' is not a finding kind; use one of {string.Join(", ", Enum.GetValues<FindingKind>().Select(Finding.KindName))}");
        var state = Single(request, "state") ?? "all";
        if (state is not ("open" or "resolved" or "all"))
            throw new BadParameterException("state", $"state: '{state}' must be open, resolved or all");
        var ns = Single(request, "namespace");
        var limit = QueryParameters.Int(name => Single(request, name), "limit", 1, 10_000) ?? 1000;
        bool Wanted(Finding f) => (kind is null || f.Kind == kind) && (ns is null || f.Subject.Namespace == ns);
        var open = state == "resolved" ? [] : context.Findings.OpenFindings.Where(Wanted).ToList();
        var resolved = state == "open" ? [] : context.Findings.RecentlyResolved.Where(Wanted).ToList();
        return Json(new FindingsResponse(open.Count, resolved.Count, open.Concat(resolved).Take(limit).ToList(), context.Cluster));
    }

    private static IResult Health(string ns, string pod, HttpRequest request, QueryApiContext context)
    {
        QueryParameters.RejectUnknown(request.Query.Keys, []);
        var knownBy = new List<string>();
        var sections = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var insight in context.Detectors.OfType<IPodInsight>())
        {
            if (!insight.KnowsPod(ns, pod)) continue;
            knownBy.Add(insight.Section);
            if (insight.DescribePod(ns, pod) is { } section) sections[insight.Section] = section;
        }
        if (context.Store.KnowsPod(ns, pod)) knownBy.Add("store");
        if (knownBy.Count == 0) return NotFound($"no detector and no stored flow knows pod {ns}/{pod}", context);
        using var drops = context.Store.Query(new FlowQuery { Namespace = ns, Pod = pod, Verdict = FlowWatch.Flows.Verdict.Dropped, Limit = RecentDropsInHealth });
        var findings = context.Findings.All.Where(f => f.Subject.Namespace == ns && (f.Subject.Pod == pod || f.Subject.OtherPod == pod)).ToList();
        return Json(new PodHealthResponse(ns, pod, knownBy, sections, drops.Flows.Select(FlowViews.From).ToList(), findings, context.Cluster));
    }

    private static IResult Backends(string ns, string service, HttpRequest request, QueryApiContext context)
    {
        QueryParameters.RejectUnknown(request.Query.Keys, []);
        var insights = context.Detectors.OfType<IBackendInsight>().ToList();
        foreach (var insight in insights)
            if (insight.DescribeService(ns, service) is { } backends)
                return Json(new BackendsResponse(ns, service, backends, context.Cluster));
        var known = insights.SelectMany(i => i.Services).Select(s => $"{s.Namespace}/{s.Service}").Distinct().Take(20).ToList();
        return NotFound(context: context, message: insights.Count == 0
            ? $"service {ns}/{service}: no backend-health detector is running"
            : $"service {ns}/{service} is not a NodePort/LoadBalancer service FlowWatch watches" +
              (known.Count > 0 ? $"; known: {string.Join(", ", known)}" : "; none seen yet"));
    }

    private static string? Single(HttpRequest request, string name)
    {
        if (!request.Query.TryGetValue(name, out var values)) return null;
        if (values.Count > 1) throw new BadParameterException(name, $"{name}: given {values.Count} times; give it once");
        return values[0];
    }
}
