using System.Globalization;
using System.Text.Json;
using FlowWatch.Store;
using Microsoft.AspNetCore.Http;

namespace FlowWatch.Api;

/// <summary>Writes a <see cref="FlowsResponse"/> straight to the response body, a flow at a time, so no answer is ever held whole as text.</summary>
internal static class FlowsWriter
{
    /// <summary>Bytes the writer may hold before they go to the socket.</summary>
    private const int FlushBytes = 32 * 1024;

    public static async Task WriteAsync(HttpResponse response, FlowPage page, long retained, string cluster, CancellationToken ct)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        var body = response.BodyWriter;
        await using var json = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = ApiJson.Options.Encoder, SkipValidation = true });
        json.WriteStartObject();
        json.WriteString("cluster", cluster);
        json.WriteStartArray("flows");
        // Counted from the bytes written, not BytesPending: the writer hands its buffer to the body each time it grows
        // (every few KB), so BytesPending never reaches the threshold and a whole answer would wait in Kestrel's buffers
        // (about 8 MB for 10,000 flows) without ever meeting the socket's backpressure.
        long flushed = 0;
        foreach (var flow in page.Flows)
        {
            JsonSerializer.Serialize(json, FlowViews.From(flow), ApiJson.Options);
            if (json.BytesCommitted + json.BytesPending - flushed >= FlushBytes)
            {
                await json.FlushAsync(ct).ConfigureAwait(false);
                await body.FlushAsync(ct).ConfigureAwait(false);
                flushed = json.BytesCommitted;
            }
        }
        json.WriteEndArray();
        if (page.NextCursor is { } next) json.WriteString("next_cursor", next.ToString(CultureInfo.InvariantCulture));
        json.WriteNumber("latest", page.Latest);
        json.WriteNumber("retained", retained);
        json.WriteNumber("scanned", page.Scanned);
        json.WriteBoolean("truncated", page.Truncated);
        json.WriteEndObject();
        await json.FlushAsync(ct).ConfigureAwait(false);
        await body.FlushAsync(ct).ConfigureAwait(false);
    }
}
