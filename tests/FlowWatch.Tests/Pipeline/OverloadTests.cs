using System.Diagnostics;
using System.Net;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Hubble;
using FlowWatch.Simulation;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Pipeline;

/// <summary>The heap is measured process-wide, so this test runs with no other test beside it.</summary>
[CollectionDefinition(OverloadTests.Name, DisableParallelization = true)]
public sealed class OverloadCollection;


/// <summary>Input faster than the pipeline (the simulator over loopback gRPC into a pipeline held up by a gated sink).</summary>
[Collection(Name)]
public sealed class OverloadTests(ITestOutputHelper output)
{
    public const string Name = "overload, alone (process-wide heap measured)";
    private const int Capacity = 5_000;
    /// <summary>Managed heap growth allowed while overloaded: the intake holds at most <see cref="Capacity"/> flows.</summary>
    private const long MemoryBudgetBytes = 32L << 20;

    /// <summary>Holds the pipeline thread while closed, as a stuck detector or a slow disk would.</summary>
    private sealed class GateSink : FlowWatch.Pipeline.IFlowSink
    {
        private readonly ManualResetEventSlim _open = new(true);
        public volatile bool Waiting;
        public void Close() => _open.Reset();
        public void Open() => _open.Set();
        public void Add(FlowRecord flow)
        {
            if (_open.IsSet) return;
            Waiting = true;
            _open.Wait();
            Waiting = false;
        }
    }

    private static async Task Until(Func<Task<bool>> condition, string what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"within {seconds} s: {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task SlowPipeline_ShedsOldestAndCountsIt_ReadyzSaysSo_MemoryBounded_CatchesUpWhenLoadFalls()
    {
        await using var sim = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 5000, BufferSize = 16_384 });
        await sim.StartAsync();
        var gate = new GateSink();
        await using var runtime = new FlowWatchRuntime(new RuntimeOptions
        {
            Listen = "127.0.0.1:0", IntakeCapacity = Capacity, ExtraSinks = [gate],
        }, NullLoggerFactory.Instance);
        var source = new HubbleStreamSource(sim.Address.ToString(), f => runtime.Intake.Write(f), runtime.Pipeline.Metrics,
            new HubbleClientOptions { StatusPollInterval = TimeSpan.Zero });
        runtime.Readiness.Add(() => source.Connection == HubbleConnectionState.Connected ? null : "hubble not connected");
        await runtime.StartHttpAsync(CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var pump = runtime.RunAsync(live: true, stop.Token);
        var stream = source.RunAsync(stop.Token);
        using var http = new HttpClient { BaseAddress = runtime.HttpAddress, Timeout = TimeSpan.FromSeconds(10) };
        async Task<(HttpStatusCode, string)> Readyz()
        {
            using var r = await http.GetAsync("/readyz");
            return (r.StatusCode, await r.Content.ReadAsStringAsync());
        }

        await Until(async () => (await Readyz()).Item1 == HttpStatusCode.OK && runtime.Pipeline.Stats.Flows > 1000, "ready and flowing");
        var baseline = GC.GetTotalMemory(forceFullCollection: true);

        gate.Close();
        var overloadClock = Stopwatch.StartNew();
        await Until(() => Task.FromResult(gate.Waiting && runtime.Intake.Shed > 3 * Capacity), $"more than {3 * Capacity:N0} flows shed");
        var (status, body) = await Readyz();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("shedding load", body);
        Assert.True(runtime.Intake.Depth <= Capacity);
        var metrics = await http.GetStringAsync("/metrics");
        var shedLine = FlowWatch.Tests.Reliability.MetricScrape.WithoutCluster(metrics).Single(l => l.StartsWith("flowwatch_shed_total{queue=\"intake\"}", StringComparison.Ordinal));
        var shedMetric = double.Parse(shedLine.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(shedMetric >= 3 * Capacity, shedLine);
        var overloaded = GC.GetTotalMemory(forceFullCollection: true);
        var growth = overloaded - baseline;
        Assert.True(growth < MemoryBudgetBytes, $"managed heap grew {growth / (1 << 20):N1} MiB while overloaded (budget {MemoryBudgetBytes >> 20} MiB)");
        var shedWhileBlocked = runtime.Intake.Shed;
        var blockedFor = overloadClock.Elapsed;

        gate.Open();
        var catchUp = Stopwatch.StartNew();
        await Until(async () => (await Readyz()).Item1 == HttpStatusCode.OK, "/readyz 200 again after the load fell");
        var readyAgain = catchUp.Elapsed;
        await Until(() => Task.FromResult(runtime.Intake.Depth < 500), "the intake queue drained");
        var drained = catchUp.Elapsed;
        var processedAtDrain = runtime.Pipeline.Stats.Flows;
        await Until(() => Task.FromResult(runtime.Pipeline.Stats.Flows > processedAtDrain + 1000), "flows still processed after catching up");

        stop.Cancel();
        await stream;
        await pump;
        output.WriteLine($"overload: pipeline held {blockedFor.TotalSeconds:N1} s at 5,000 flows/s into a {Capacity:N0}-flow intake: " +
                         $"{shedWhileBlocked:N0} shed (metric {shedMetric:N0}), /readyz 503 '{body.Trim()}'; managed heap +{growth / (1 << 20):N1} MiB " +
                         $"(budget {MemoryBudgetBytes >> 20} MiB, total {overloaded / (1 << 20):N0} MiB); gate opened: ready again in {readyAgain.TotalMilliseconds:N0} ms, " +
                         $"queue drained in {drained.TotalMilliseconds:N0} ms");
    }
}
