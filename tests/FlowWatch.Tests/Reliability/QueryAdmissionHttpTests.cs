using System.Net;
using System.Text.Json;
using FlowWatch.Api;
using FlowWatch.Hosting;
using FlowWatch.Tests.Store;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Tests.Reliability;

/// <summary>Admission control and the scan budget of the query API, over real HTTP on 127.0.0.1.</summary>
public sealed class QueryAdmissionHttpTests : IAsyncLifetime
{
    private const int Stored = 40_000;
    private FlowWatchRuntime _runtime = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _runtime = new FlowWatchRuntime(new RuntimeOptions
        {
            Listen = "127.0.0.1:0",
            Queries = new QueryAdmissionOptions { MaxConcurrent = 1, MaxQueued = 1, QueueTimeout = TimeSpan.FromSeconds(3), MaxScannedRows = 10_000, MaxScanTime = TimeSpan.FromMinutes(1) },
        }, NullLoggerFactory.Instance);
        for (var n = 0; n < Stored; n++) _runtime.Store.Add(StoreFlows.Numbered(n));
        await _runtime.StartHttpAsync(CancellationToken.None);
        _http = new HttpClient { BaseAddress = _runtime.HttpAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _runtime.DisposeAsync();
    }

    [Fact]
    public async Task QueryThatWouldScanPastTheBudget_ReturnsWhatItHas_Truncated_WithACursorThatGoesOn()
    {
        // Matches nothing (no forwarded flow has a drop reason) but every block may hold one: the worst case.
        var cursor = "";
        long total = 0;
        for (var page = 0; page < 10; page++)
        {
            using var doc = JsonDocument.Parse(await _http.GetStringAsync($"/api/v1/flows?verdict=forwarded&reason=POLICY_DENIED&limit=100{cursor}"));
            var root = doc.RootElement;
            Assert.Equal(0, root.GetProperty("flows").GetArrayLength());
            var scanned = root.GetProperty("scanned").GetInt64();
            total += scanned;
            if (!root.GetProperty("truncated").GetBoolean())
            {
                Assert.False(root.TryGetProperty("next_cursor", out _));
                Assert.Equal(Stored, total);
                return;
            }
            // The budget is checked between blocks of 4,096: a page scans at most one block past it.
            Assert.InRange(scanned, 10_000, 10_000 + 4096);
            cursor = "&cursor=" + root.GetProperty("next_cursor").GetString();
        }
        Assert.Fail("the cursor never reached the end of the store");
    }

    [Fact]
    public async Task WithEveryScanSlotTaken_AQueryWaitsItsDeadlineThen503_AndBeyondTheQueue429_BothWithRetryAfter()
    {
        using (var held = await _runtime.Admission.EnterAsync(1, CancellationToken.None))
        {
            Assert.True(held.Admitted);
            var waiting = _http.GetAsync("/api/v1/flows?limit=1");
            // The queue holds one: wait until that one is queued, then the next is refused at once.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (await QueuedAsync() < 1 && !waiting.IsCompleted)
            {
                Assert.True(DateTime.UtcNow < deadline, "the first query never queued");
                await Task.Delay(5);
            }
            using var refused = await _http.GetAsync("/api/v1/findings");
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            using var timedOut = await waiting;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, timedOut.StatusCode);
            Assert.NotNull(timedOut.Headers.RetryAfter);
            Assert.Contains("ingest has priority", await timedOut.Content.ReadAsStringAsync());
        }
        using var after = await _http.GetAsync("/api/v1/flows?limit=1");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        var metrics = await _http.GetStringAsync("/metrics");
        Assert.Equal(1, MetricScrape.Sum(metrics, "flowwatch_api_queries_refused_total{reason=\"queue_full\"}"));
        Assert.Equal(1, MetricScrape.Sum(metrics, "flowwatch_api_queries_refused_total{reason=\"queue_timeout\"}"));
        Assert.Equal(0, _runtime.Admission.MemoryInUse);
    }

    private async Task<double> QueuedAsync() => MetricScrape.Sum(await _http.GetStringAsync("/metrics"), "flowwatch_api_queries_queued");
}
