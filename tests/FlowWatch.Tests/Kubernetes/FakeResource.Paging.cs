using System.Text;
using System.Text.Json;

namespace FlowWatch.Tests.Kube;

/// <summary>One list response of the fake API server: a page of objects, or an error Status.</summary>
internal sealed record FakeListPage(IReadOnlyList<byte[]> Items, long ResourceVersion, string? Continue, long? Remaining,
    int ErrorCode = 0, string? ErrorBody = null);

internal sealed partial class FakeResource
{
    /// <summary>The real server's message for a continue token whose resourceVersion was compacted.</summary>
    public const string ExpiredContinueMessage =
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without " +
        "the continue parameter, or use the continue token in this response to retrieve the remainder of the results. " +
        "Continuing with the provided token results in an inconsistent list - objects that were created, modified, or " +
        "deleted between the time the first chunk was returned and now may show up in the list.";

    /// <summary>A list request: everything (no limit), or up to <paramref name="limit"/> objects from <paramref name="continueToken"/> on, as of the first page's resourceVersion.</summary>
    public FakeListPage List(int? limit, string? continueToken)
    {
        FakeListPage page;
        int number;
        lock (_gate)
        {
            ListRequests++;
            ListLimits.Add(limit);
            if (string.IsNullOrEmpty(continueToken)) ListsStarted++;
            page = ListLocked(limit, continueToken, out number);
        }
        if (page.ErrorCode == 0) AfterPage?.Invoke(number);
        return page;
    }

    private FakeListPage ListLocked(int? limit, string? continueToken, out int number)
    {
        number = 1;
        KeyValuePair<string, byte[]>[] snapshot;
        long rv;
        var start = 0;
        if (string.IsNullOrEmpty(continueToken))
        {
            rv = server.CurrentResourceVersion;
            snapshot = [.. _items];
            if (limit is null or <= 0 || snapshot.Length <= limit)
                return new FakeListPage(snapshot.Select(kv => kv.Value).ToList(), rv, null, null);
            RememberSnapshot(rv, snapshot);
        }
        else
        {
            if (!TryDecode(continueToken, out rv, out var startKey, out number))
                return Error(400, "BadRequest", $"continue key is not valid: {continueToken}");
            if (rv < _compactedBelow - 1 || !_snapshots.TryGetValue(rv, out snapshot!))
            {
                ExpiredContinues++;
                // As the real server: a token for the rest of the list, read at the latest version (inconsistent).
                var latest = server.CurrentResourceVersion;
                RememberSnapshot(latest, [.. _items]);
                return Error(410, "Expired", ExpiredContinueMessage, Encode(latest, startKey, number));
            }
            start = LowerBound(snapshot, startKey);
        }
        var take = Math.Min(limit is > 0 ? limit.Value : snapshot.Length, snapshot.Length - start);
        var items = new byte[take][];
        for (var i = 0; i < take; i++) items[i] = snapshot[start + i].Value;
        var next = start + take;
        if (next >= snapshot.Length)
        {
            _snapshots.Remove(rv);
            return new FakeListPage(items, rv, null, null);
        }
        return new FakeListPage(items, rv, Encode(rv, snapshot[next].Key, number + 1), snapshot.Length - next);
    }

    private void RememberSnapshot(long rv, KeyValuePair<string, byte[]>[] snapshot)
    {
        // Bounded: the oldest snapshot goes first, and its tokens then answer 410 as a compacted one would.
        if (!_snapshots.ContainsKey(rv) && _snapshots.Count >= MaxSnapshots) _snapshots.Remove(_snapshots.Keys.Min());
        _snapshots[rv] = snapshot;
    }

    private static int LowerBound(KeyValuePair<string, byte[]>[] sorted, string key)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (string.CompareOrdinal(sorted[mid].Key, key) < 0) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    private FakeListPage Error(int code, string reason, string message, string? continueToken = null) =>
        new([], 0, null, null, code, FakeApiServer.Status(code, reason, message, continueToken));

    // Opaque to clients, as the real one is (base64 of a small JSON document naming the version and the next key).
    private static string Encode(long rv, string start, int page) =>
        Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new ContinueKey("meta.k8s.io/v1", rv, start, page)))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryDecode(string token, out long rv, out string start, out int page)
    {
        (rv, start, page) = (0, "", 0);
        try
        {
            var b64 = token.Replace('-', '+').Replace('_', '/');
            var key = JsonSerializer.Deserialize<ContinueKey>(Convert.FromBase64String(b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=')));
            if (key is null || key.v != "meta.k8s.io/v1") return false;
            (rv, start, page) = (key.rv, key.start, key.page);
            return true;
        }
        catch (Exception e) when (e is FormatException or JsonException) { return false; }
    }

#pragma warning disable IDE1006 // the real token's field names
    private sealed record ContinueKey(string v, long rv, string start, int page);
#pragma warning restore IDE1006

    /// <summary>Writes one list response body: the list envelope around the page's objects, streamed object by object.</summary>
    public async Task WriteListAsync(Stream body, FakeListPage page, CancellationToken ct)
    {
        var meta = new StringBuilder($"{{\"resourceVersion\":\"{page.ResourceVersion}\"");
        if (page.Continue is not null) meta.Append($",\"continue\":\"{page.Continue}\"");
        if (page.Remaining is { } r) meta.Append($",\"remainingItemCount\":{r}");
        meta.Append('}');
        await body.WriteAsync(Encoding.UTF8.GetBytes($"{{\"apiVersion\":\"{ApiVersion}\",\"kind\":\"{ListKind}\",\"metadata\":{meta},\"items\":["), ct);
        for (var i = 0; i < page.Items.Count; i++)
        {
            if (i > 0) await body.WriteAsync(","u8.ToArray(), ct);
            await body.WriteAsync(page.Items[i], ct);
        }
        await body.WriteAsync("]}"u8.ToArray(), ct);
    }
}
