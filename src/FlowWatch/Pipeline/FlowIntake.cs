using System.Collections.Concurrent;
using System.Threading.Channels;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;

namespace FlowWatch.Pipeline;

/// <summary>The bounded queue between flow sources and the pipeline, and the pump that drains it.</summary>
/// <remarks>
/// Sources never wait on the pipeline: when the queue is full the oldest flow is shed and counted
/// (<c>flowwatch_shed_total{queue="intake"}</c>), so a slow detector shows up as a number, not as a
/// stalled gRPC stream. Cluster state changes are never shed: losing one would leave a detector with a wrong
/// view of the cluster (a deleted pod that still owns its IP) and nothing would tell. They are bounded by the
/// cluster's size and churn, not by flow rate, and the pump applies every queued change before each flow, so their
/// queue holds only what arrives while one flow is processed. When live and idle, the pump moves event time on by wall time so timeouts
/// (a DNS request with no answer) still fire.
/// </remarks>
public sealed class FlowIntake
{
    private readonly Channel<FlowRecord> _channel;
    private readonly ConcurrentQueue<ClusterEvent> _cluster = new();
    private readonly FlowPipeline _pipeline;
    private readonly int _capacity;
    private long _shed;
    private long _waits;
    private const int GatherFlows = 256;
    private static readonly TimeSpan GatherDelay = TimeSpan.FromMilliseconds(1);

    public FlowIntake(FlowPipeline pipeline, int capacity = 100_000)
    {
        _pipeline = pipeline;
        _capacity = capacity;
        _channel = Channel.CreateBounded<FlowRecord>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => { Interlocked.Increment(ref _shed); pipeline.Metrics.Shed.WithLabels("intake").Inc(); });
    }

    public int Capacity => _capacity;
    public long Shed => Interlocked.Read(ref _shed);
    public int Depth => _channel.Reader.Count;
    /// <summary>Times the pump found the queue empty and waited for flows: per flow, what the hand-off between threads costs.</summary>
    public long Waits => Interlocked.Read(ref _waits);
    /// <summary>True while the queue is more than half full: the pipeline is not keeping up.</summary>
    public bool Overloaded => Depth > _capacity / 2;

    public bool Write(FlowRecord flow) => _channel.Writer.TryWrite(flow);

    /// <summary>Queues a cluster state change; never shed (see the remarks).</summary>
    public void Write(ClusterEvent change) => _cluster.Enqueue(change);

    /// <summary>Cluster state changes waiting for the pump.</summary>
    public int ClusterDepth => _cluster.Count;

    /// <summary>No more flows will come; the pump finishes what is queued and returns.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>Feeds the pipeline until the intake completes or <paramref name="ct"/> fires.</summary>
    /// <param name="live">Advance event time by wall time while idle (live streams, not replays).</param>
    public async Task PumpAsync(bool live, CancellationToken ct)
    {
        var reader = _channel.Reader;
        _pipeline.Live = live;
        var lastWall = DateTimeOffset.UtcNow;
        var lastEvent = DateTimeOffset.MinValue;
        try
        {
            while (true)
            {
                DrainCluster();
                var got = reader.TryRead(out var flow);
                if (!got)
                {
                    _pipeline.Metrics.QueueDepth.Set(0);
                    Interlocked.Increment(ref _waits);
                    using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    idle.CancelAfter(TimeSpan.FromMilliseconds(500));
                    bool more;
                    try { more = await reader.WaitToReadAsync(idle.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested) { more = true; }
                    // The sources are done: what the reorder stage still holds goes on now (a cancelled pump leaves it: the
                    // checkpoint's resume point is the newest flow delivered, so a restart reads those flows again).
                    if (!more) { _pipeline.Flush(); break; }
                    // The pipeline outruns a gRPC stream's decoding, so a pump that went on at each wake-up would sleep again
                    // after one flow, and every flow would cost the source a thread-pool hand-off. Let a burst gather first.
                    if (live && reader.Count < GatherFlows) await Task.Delay(GatherDelay, ct).ConfigureAwait(false);
                    if (live && _pipeline.Started && reader.Count == 0)
                    {
                        // Idle: let event time follow the wall clock from the last flow seen.
                        var wall = DateTimeOffset.UtcNow;
                        _pipeline.AdvanceTo(lastEvent == DateTimeOffset.MinValue ? wall : lastEvent + (wall - lastWall));
                    }
                    continue;
                }
                // A busy queue never reaches the idle wait: check here so shutdown stops the pump within one flow.
                if (ct.IsCancellationRequested) break;
                _pipeline.Process(flow!);
                lastEvent = _pipeline.Now;
                lastWall = DateTimeOffset.UtcNow;
                // The event-time lag is Hosting.IngestHealth's: it knows whether a stream is open at all.
                if ((_pipeline.Stats.Flows & 1023) == 0) _pipeline.Metrics.QueueDepth.Set(reader.Count);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        DrainCluster();
    }

    private void DrainCluster()
    {
        while (_cluster.TryDequeue(out var change)) _pipeline.Apply(change);
    }
}
