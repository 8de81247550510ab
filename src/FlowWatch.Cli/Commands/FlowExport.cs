using System.Globalization;
using FlowWatch.Cli.CommandLine;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch flows -o jsonpb|json</c>: the store's flows as the lines <c>hubble observe -o jsonpb</c> writes (json is its alias), oldest first.</summary>
/// <remarks>
/// The server writes the lines (<c>/api/v1/flows?format=jsonpb</c>); this pages through them. <c>--all</c> walks the whole
/// store forwards with <c>after</c>, 10,000 flows a request, and stops at the newest flow the first page saw, so an export
/// from a live FlowWatch ends. What survives the round trip is listed on <see cref="Api.HubbleFlowJson"/>.
/// </remarks>
internal static class FlowExport
{
    private const int Batch = 10_000;

    public static async Task<int> RunAsync(ParsedArgs args, ApiClient api, IReadOnlyList<string> filters, CancellationToken ct)
    {
        // hubble v0.12.3's -o json is an alias for jsonpb: both write GetFlowsResponse lines, and so does this.
        var query = string.Join("&", filters.Append("format=jsonpb"));
        var all = args.Flag("all");
        var follow = args.Flag("follow");
        if (all && follow) throw new UsageException("give --all (every stored flow, then exit) or --follow, not both.");
        var stdout = Console.Out;
        if (all)
        {
            long after = -1, written = 0;
            long? end = null;
            while (!ct.IsCancellationRequested)
            {
                var page = await Page(api, $"api/v1/flows?{query}&limit={Batch}&after={after}", ct);
                stdout.Write(page.Body);
                written += page.Count;
                end ??= page.Latest;
                if (page.Truncated && page.NextCursor is { } resume) { after = resume; continue; }
                if (page.Count < Batch || page.LastId is not { } last || last >= end) break;
                after = last;
            }
            await stdout.FlushAsync(ct);
            if (written == 0) Console.Error.WriteLine("(no flows match)");
            return 0;
        }
        var limit = args.Int("limit", 1, Batch);
        var first = await Page(api, $"api/v1/flows?{query}&limit={limit}", ct);
        stdout.Write(first.Body);
        await stdout.FlushAsync(ct);
        if (!follow)
        {
            if (first.Count == 0) Console.Error.WriteLine($"(no flows match; the store holds {first.Retained:N0})");
            return 0;
        }
        var interval = args.Duration("interval");
        var from = first.Latest;
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(interval, ct);
            var next = await Page(api, $"api/v1/flows?{query}&limit={Batch}&after={from}", ct);
            stdout.Write(next.Body);
            await stdout.FlushAsync(ct);
            from = next.Truncated && next.NextCursor is { } resume ? resume
                : next.Count == Batch && next.LastId is { } last ? last : Math.Max(from, next.Latest);
        }
        return 0;
    }

    private sealed record LinesPage(string Body, int Count, long Latest, long Retained, bool Truncated, long? NextCursor, long? LastId);

    private static async Task<LinesPage> Page(ApiClient api, string path, CancellationToken ct)
    {
        var (body, headers) = await api.GetTextAsync(path, ct);
        long? Header(string name) => headers.TryGetValues(name, out var values) &&
            long.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;
        var count = 0;
        foreach (var c in body) if (c == '\n') count++;
        return new LinesPage(body, count,
            Header("FlowWatch-Latest") ?? throw new QueryFailedException("the server's answer has no FlowWatch-Latest header: it is older than this CLI's -o jsonpb|json"),
            Header("FlowWatch-Retained") ?? 0,
            headers.TryGetValues("FlowWatch-Truncated", out var t) && t.FirstOrDefault() == "true",
            Header("FlowWatch-Next-Cursor"), Header("FlowWatch-Last-Id"));
    }
}
