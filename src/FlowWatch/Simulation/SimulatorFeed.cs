using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Hosting;

namespace FlowWatch.Simulation;

/// <summary>Runs the generator in real time (event time = wall time) and appends its flows, and any injected lost events, to the ring.</summary>
public sealed class SimulatorFeed : BackgroundService
{
    private readonly SimulatorOptions _options;
    private readonly SimulatedCluster _cluster;
    private readonly TrafficGenerator _generator;
    private readonly FlowRing _ring;
    private readonly TimeProvider _time;
    private readonly SimRandom _lostRng;
    private double _lostDue;
    private long _skips;
    private long _lostInjected;

    public SimulatorFeed(SimulatorOptions options, SimulatedCluster cluster, FlowRing ring, TimeProvider? time = null)
    {
        _options = options;
        _cluster = cluster;
        _ring = ring;
        _time = time ?? TimeProvider.System;
        _generator = new TrafficGenerator(cluster, options.Scenarios, options.FlowsPerSecond) { NodeCollapse = options.NodeCollapse, Shapes = options.Shapes };
        _lostRng = new SimRandom((ulong)options.Seed ^ 0x1057_E7E7UL);
    }

    /// <summary>Times the generator fell more than <see cref="SimulatorOptions.MaxLag"/> behind and skipped ahead.</summary>
    public long LagSkips => Interlocked.Read(ref _skips);
    public long LostEventsInjected => Interlocked.Read(ref _lostInjected);

    /// <summary>Completes once the generator has read its start time: a test holding the clock advances it only after this.</summary>
    public Task Started => _started.Task;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stream = _generator.Start(_time.GetUtcNow());
        var batch = new List<GetFlowsResponse>(1024);
        var last = _time.GetUtcNow();
        _started.TrySetResult();
        using var timer = new PeriodicTimer(_options.Tick, _time);
        do
        {
            var now = _time.GetUtcNow();
            if (now - stream.Position > _options.MaxLag)
            {
                stream.SkipTo(now - _options.Tick);
                Interlocked.Increment(ref _skips);
            }
            batch.Clear();
            stream.EmitUntil(now, batch);
            InjectLostEvents(batch, now, now - last);
            last = now;
            _ring.Append(batch);
        }
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try { return await timer.WaitForNextTickAsync(ct).ConfigureAwait(false); }
        catch (OperationCanceledException) { return false; }
    }

    private void InjectLostEvents(List<GetFlowsResponse> batch, DateTimeOffset now, TimeSpan elapsed)
    {
        if (_options.LostEventsPerSecond <= 0) return;
        _lostDue += _options.LostEventsPerSecond * elapsed.TotalSeconds;
        for (; _lostDue >= 1; _lostDue--)
        {
            var node = _lostRng.Pick(_cluster.Nodes);
            var ts = Timestamp.FromDateTimeOffset(now);
            batch.Add(new GetFlowsResponse
            {
                LostEvents = new LostEvent
                {
                    Source = LostEventSource.PerfEventRingBuffer,
                    NumEventsLost = (ulong)_lostRng.Next(1, 200),
                    Cpu = _lostRng.Next(0, 4),
                },
                NodeName = node.Name,
                Time = ts,
            });
            Interlocked.Increment(ref _lostInjected);
        }
    }
}
