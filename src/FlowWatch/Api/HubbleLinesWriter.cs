using System.Globalization;
using System.Text;
using FlowWatch.Store;
using Microsoft.AspNetCore.Http;

namespace FlowWatch.Api;

/// <summary>How <c>/api/v1/flows</c> answers: FlowWatch's own JSON object, or Hubble's GetFlowsResponse lines (<c>format=jsonpb</c>).</summary>
public enum FlowAnswerFormat { Api, Jsonpb }

/// <summary>Writes a page of flows as Hubble's lines, oldest first as <c>hubble observe</c> prints them; the paging facts go in headers.</summary>
/// <remarks>
/// Headers: <c>FlowWatch-Latest</c> (newest sequence number in the store), <c>FlowWatch-Retained</c>, <c>FlowWatch-Truncated</c>,
/// <c>FlowWatch-Next-Cursor</c> (as in the JSON answer) and <c>FlowWatch-Last-Id</c> (sequence number of the newest flow in
/// this page, to go on from with <c>after</c>).
/// </remarks>
internal static class HubbleLinesWriter
{
    private const int FlushBytes = 32 * 1024;

    public const string LatestHeader = "FlowWatch-Latest";
    public const string RetainedHeader = "FlowWatch-Retained";
    public const string TruncatedHeader = "FlowWatch-Truncated";
    public const string NextCursorHeader = "FlowWatch-Next-Cursor";
    public const string LastIdHeader = "FlowWatch-Last-Id";

    public static async Task WriteAsync(HttpResponse response, FlowPage page, long retained, CancellationToken ct)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/x-ndjson; charset=utf-8";
        var h = response.Headers;
        h[LatestHeader] = page.Latest.ToString(CultureInfo.InvariantCulture);
        h[RetainedHeader] = retained.ToString(CultureInfo.InvariantCulture);
        h[TruncatedHeader] = page.Truncated ? "true" : "false";
        if (page.NextCursor is { } next) h[NextCursorHeader] = next.ToString(CultureInfo.InvariantCulture);
        // A page is ordered one way or the other, so its newest flow is at one end.
        if (page.Flows.Count > 0) h[LastIdHeader] = Math.Max(page.Flows[0].Seq, page.Flows[^1].Seq).ToString(CultureInfo.InvariantCulture);
        var sb = new StringBuilder(64 * 1024);
        // The store answers newest first, except when following (after=), which comes oldest first already.
        var ascending = page.Flows.Count < 2 || page.Flows[0].Seq < page.Flows[^1].Seq;
        for (var n = 0; n < page.Flows.Count; n++)
        {
            var flow = page.Flows[ascending ? n : page.Flows.Count - 1 - n];
            HubbleFlowJson.WriteResponse(sb, flow);
            sb.Append('\n');
            if (sb.Length >= FlushBytes) await Flush(response, sb, ct).ConfigureAwait(false);
        }
        await Flush(response, sb, ct).ConfigureAwait(false);
    }

    private static async Task Flush(HttpResponse response, StringBuilder sb, CancellationToken ct)
    {
        if (sb.Length == 0) return;
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        sb.Clear();
        await response.Body.WriteAsync(bytes, ct).ConfigureAwait(false);
    }
}
