using System.Diagnostics;
using System.Net;
using System.Text.Json;
using FlowWatch.Tests.Alerting;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Reliability;

/// <summary>Answers are bounded: 100 concurrent maximum-size queries keep the built <c>flowwatch demo</c> within the
/// documented 256 MB above its steady state (README, reliability table).</summary>
[Collection(LoadCollection.Name)]
public sealed class ConcurrentAnswersTests(ITestOutputHelper output)
{
    private const long BudgetBytes = 256L << 20;
    private const int Clients = 100;
    private const int Rounds = 3;

    [Fact]
    public async Task HundredConcurrentMaximumAnswers_StayWithinTheMemoryBound()
    {
        await using var demo = await DemoProcess.StartAsync("all", ["--rate", "5000"], readyTimeout: TimeSpan.FromSeconds(60));
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Clients + 10 }) { Timeout = TimeSpan.FromSeconds(120) };
        var metrics = new MetricScrape(http, demo.MetricsUri);
        var wait = Stopwatch.StartNew();
        while (await metrics.SumAsync("flowwatch_store_flows") < 60_000)
        {
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(90), $"store did not fill:\n{demo.RecentLog}");
            await Task.Delay(500);
        }
        long steady = 0;
        for (var i = 0; i < 10; i++) { steady = Math.Max(steady, Rss(demo.ProcessId)); await Task.Delay(100); }

        long peak = steady;
        using var stopSampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stopSampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, Rss(demo.ProcessId));
                try { await Task.Delay(20, stopSampling.Token); } catch (OperationCanceledException) { }
            }
        });
        var uri = new Uri(demo.MetricsUri, "/api/v1/flows?limit=10000");
        int full = 0, refused = 0, failed = 0;
        string? firstFailure = null;
        var clients = Enumerable.Range(0, Clients).Select(_ => Task.Run(async () =>
        {
            for (var r = 0; r < Rounds; r++)
            {
                try
                {
                    using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead);
                    if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
                    {
                        Interlocked.Increment(ref refused);
                        continue;
                    }
                    await using var body = await response.Content.ReadAsStreamAsync();
                    using var doc = await JsonDocument.ParseAsync(body);
                    if (doc.RootElement.GetProperty("flows").GetArrayLength() == 10_000) Interlocked.Increment(ref full);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or IOException)
                {
                    Interlocked.Increment(ref failed);
                    Interlocked.CompareExchange(ref firstFailure, $"{e.GetType().Name}: {e.Message} (inner: {e.InnerException?.GetType().Name}: {e.InnerException?.Message})", null);
                }
            }
        })).ToArray();
        await Task.WhenAll(clients);
        stopSampling.Cancel();
        await sampler;

        var above = peak - steady;
        output.WriteLine($"RSS steady {steady >> 20} MB, peak {peak >> 20} MB (+{above >> 20} MB); " +
                         $"{full} full answers of 10,000 flows, {refused} refused, {failed} failed of {Clients * Rounds}");
        Assert.True(above <= BudgetBytes, $"RSS grew {above >> 20} MB above steady state ({steady >> 20} MB), over the {BudgetBytes >> 20} MB bound");
        Assert.True(full > 0, $"no full answer came back ({refused} refused, {failed} failed)");
        Assert.True(failed == 0, $"{failed} answers failed; the first: {firstFailure}\n{demo.RecentLog}");
    }

    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        return 0;
    }
}
