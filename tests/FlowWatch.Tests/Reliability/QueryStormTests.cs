using System.Diagnostics;
using System.Net;
using FlowWatch.Tests.Alerting;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Reliability;

/// <summary>Ingest has priority over queries: the built <c>flowwatch demo</c> keeps its flow rate, and Hubble loses
/// nothing, while 200 clients hammer /api/v1/flows with the worst query there is (matches nothing, scans everything).</summary>
[Collection(LoadCollection.Name)]
public sealed class QueryStormTests(ITestOutputHelper output)
{
    private const int Rate = 4000;
    private const int StoreFill = 120_000;
    private const int Clients = 200;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private const string WorstQuery = "/api/v1/flows?verdict=forwarded&reason=POLICY_DENIED&limit=10000";

    [Fact]
    public async Task IngestKeepsItsRateAndLosesNothing_Under200ConcurrentWorstCaseQueries()
    {
        await using var demo = await DemoProcess.StartAsync("all", ["--rate", Rate.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            readyTimeout: TimeSpan.FromSeconds(60));
        using var scrapeHttp = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var metrics = new MetricScrape(scrapeHttp, demo.MetricsUri);
        var deadline = Stopwatch.StartNew();
        while (await metrics.SumAsync("flowwatch_store_flows") < StoreFill)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(120), $"store did not reach {StoreFill:N0} flows within 120 s:\n{demo.RecentLog}");
            await Task.Delay(500);
        }

        // The baseline is steady state: a pump still draining the fill's backlog runs faster than the source.
        var settle = System.Diagnostics.Stopwatch.StartNew();
        while (await metrics.SumAsync("flowwatch_intake_queue_depth") > 1000 || !(await metrics.SumAsync("flowwatch_event_time_lag_seconds") < 2))
        {
            Assert.True(settle.Elapsed < TimeSpan.FromSeconds(120), $"ingest did not catch up with the source before the baseline:\n{demo.RecentLog}");
            await Task.Delay(500);
        }
        var quiet = await MeasureAsync(metrics, Window, load: null);
        using var storm = new Storm(new Uri(demo.MetricsUri, WorstQuery), Clients);
        var loaded = await MeasureAsync(metrics, Window, storm);
        var latency = storm.Stop();
        // Losses that happened under load are reported once the reader catches up: count them too.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var lostAfter = await metrics.SumAsync("flowwatch_lost_events_total") - loaded.LostAtStart;

        output.WriteLine($"unloaded: ingest {quiet.Rate:N0} flows/s, lost {quiet.Lost:N0}");
        output.WriteLine($"loaded:   ingest {loaded.Rate:N0} flows/s, lost {lostAfter:N0}; {latency}");
        Assert.True(loaded.Rate >= 0.9 * quiet.Rate,
            $"ingest fell from {quiet.Rate:N0} to {loaded.Rate:N0} flows/s under {Clients} worst-case queries ({latency})\n{demo.RecentLog}");
        Assert.Equal(0, lostAfter);
        Assert.True(latency.Answered > 0, $"no query was answered at all: {latency}");
    }

    private sealed record Measurement(double Rate, double Lost, double LostAtStart);

    private static async Task<Measurement> MeasureAsync(MetricScrape metrics, TimeSpan window, Storm? load)
    {
        load?.Start();
        var flows0 = await metrics.SumAsync("flowwatch_flows_total");
        var lost0 = await metrics.SumAsync("flowwatch_lost_events_total");
        var clock = Stopwatch.StartNew();
        await Task.Delay(window);
        var flows1 = await metrics.SumAsync("flowwatch_flows_total");
        var lost1 = await metrics.SumAsync("flowwatch_lost_events_total");
        return new Measurement((flows1 - flows0) / clock.Elapsed.TotalSeconds, lost1 - lost0, lost0);
    }

    /// <summary>Clients that each send the query again as soon as the last answer (or refusal) arrived.</summary>
    internal sealed class Storm : IDisposable
    {
        private readonly Uri _uri;
        private readonly int _clients;
        private readonly HttpClient _http;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _tasks = [];
        private readonly List<double> _latencies = [];
        private int _refused, _failed;

        public Storm(Uri uri, int clients)
        {
            _uri = uri;
            _clients = clients;
            _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients + 10 }) { Timeout = TimeSpan.FromSeconds(60) };
        }

        public void Start()
        {
            for (var i = 0; i < _clients; i++) _tasks.Add(Task.Run(RunAsync));
        }

        private async Task RunAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var clock = Stopwatch.StartNew();
                try
                {
                    using var response = await _http.GetAsync(_uri, _stop.Token);
                    await response.Content.ReadAsByteArrayAsync(_stop.Token);
                    if (response.StatusCode == HttpStatusCode.OK) lock (_latencies) _latencies.Add(clock.Elapsed.TotalMilliseconds);
                    else if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable) Interlocked.Increment(ref _refused);
                    else Interlocked.Increment(ref _failed);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { Interlocked.Increment(ref _failed); }
            }
        }

        public Latency Stop()
        {
            _stop.Cancel();
            try { Task.WaitAll([.. _tasks], TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
            lock (_latencies)
            {
                var sorted = _latencies.Order().ToList();
                double P(double q) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
                return new Latency(sorted.Count, _refused, _failed, P(0.5), P(0.99));
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _http.Dispose();
        }
    }

    internal sealed record Latency(int Answered, int Refused, int Failed, double P50Ms, double P99Ms)
    {
        public override string ToString() =>
            $"{Answered:N0} answered (p50 {P50Ms:N0} ms, p99 {P99Ms:N0} ms), {Refused:N0} refused with 429/503, {Failed:N0} failed";
    }
}
