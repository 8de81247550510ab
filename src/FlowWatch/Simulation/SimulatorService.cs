using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Hubble.Proto.Relay;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace FlowWatch.Simulation;

/// <summary>
/// observer.Observer over the simulator's ring: GetFlows (follow, number, first, since/until, whitelist/blacklist
/// per <see cref="FlowRequestFilter"/>), GetNodes and ServerStatus, answering like Hubble Relay.
/// </summary>
/// <remarks>
/// Without follow, number, first or since the whole buffer is sent. A reader that falls more than the buffer
/// behind gets a lost_events message (source HUBBLE_RING_BUFFER) with the count it missed, as from Hubble.
/// Filter fields other than those of <see cref="FlowRequestFilter.SupportedFields"/> are refused (UNIMPLEMENTED).
/// </remarks>
public sealed class SimulatorService : Observer.ObserverBase
{
    private const int ReadChunk = 1024;

    private readonly SimulatorOptions _options;
    private readonly SimulatedCluster _cluster;
    private readonly FlowRing _ring;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _started;
    private readonly CancellationTokenSource _stopping = new();
    private long _readerLosses;

    public SimulatorService(SimulatorOptions options, SimulatedCluster cluster, FlowRing ring, TimeProvider? time = null)
    {
        _options = options;
        _cluster = cluster;
        _ring = ring;
        _time = time ?? TimeProvider.System;
        _started = _time.GetUtcNow();
    }

    /// <summary>Entries followers missed because the ring overwrote them first (sum over all calls).</summary>
    public long ReaderLosses => Interlocked.Read(ref _readerLosses);

    /// <summary>Ends every open GetFlows stream, so that the server can stop without waiting for followers.</summary>
    public void Stop() => _stopping.Cancel();

    public override async Task GetFlows(GetFlowsRequest request, IServerStreamWriter<GetFlowsResponse> responseStream, ServerCallContext context)
    {
        if (request.First && request.Follow)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "first and follow exclude each other"));
        if (request.Number > 0 && (request.Since is not null || request.Until is not null))
            throw new RpcException(new Status(StatusCode.InvalidArgument, "number and since/until exclude each other"));
        var filter = FlowRequestFilter.From(request, SimulatedCluster.ClusterName);
        long since = request.Since is { } s ? Nanos(s) : long.MinValue;
        long until = request.Until is { } u ? Nanos(u) : long.MaxValue;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _stopping.Token);
        var ct = linked.Token;
        var chunk = new List<FlowRing.Entry>(ReadChunk);
        try
        {
            long cursor, limit = long.MaxValue;
            if (request.Number > 0 && !request.First)
            {
                cursor = await SendLast(request.Number, filter, responseStream, chunk, ct).ConfigureAwait(false);
                if (!request.Follow) return;
            }
            else if (request.Follow && request.Since is null)
                cursor = _ring.Next;
            else
            {
                // first N, since/until, or the whole buffer: from the oldest entry on.
                cursor = _ring.Oldest;
                if (request.First && request.Number > 0) limit = (long)request.Number;
            }
            var end = request.Follow ? long.MaxValue : _ring.Next;
            await Pump(cursor, end, limit, request.Follow, since, until, filter, responseStream, chunk, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away or the simulator is stopping: the stream simply ends.
        }
    }

    private async Task<long> SendLast(ulong number, FlowRequestFilter filter, IServerStreamWriter<GetFlowsResponse> stream,
        List<FlowRing.Entry> chunk, CancellationToken ct)
    {
        var end = _ring.Next;
        var last = new Queue<GetFlowsResponse>();
        for (var cursor = _ring.Oldest; cursor < end;)
        {
            chunk.Clear();
            (_, cursor) = _ring.Read(cursor, chunk, (int)Math.Min(ReadChunk, end - cursor));
            if (chunk.Count == 0) break;
            foreach (var e in chunk)
            {
                if (!filter.Matches(e.Message)) continue;
                last.Enqueue(e.Message);
                if ((ulong)last.Count > number) last.Dequeue();
            }
        }
        await WriteBatch(stream, [.. last], ct).ConfigureAwait(false);
        return end;
    }

    /// <summary>Sends matching entries from <paramref name="cursor"/> up to <paramref name="end"/> (or for ever when following).</summary>
    private async Task Pump(long cursor, long end, long limit, bool follow, long since, long until, FlowRequestFilter filter,
        IServerStreamWriter<GetFlowsResponse> stream, List<FlowRing.Entry> chunk, CancellationToken ct)
    {
        var sent = 0L;
        var batch = new List<GetFlowsResponse>(ReadChunk + 1);
        while (cursor < end)
        {
            if (follow) await _ring.WaitForAsync(cursor, ct).ConfigureAwait(false);
            chunk.Clear();
            batch.Clear();
            (var lost, cursor) = _ring.Read(cursor, chunk, (int)Math.Min(ReadChunk, end - cursor));
            if (lost > 0)
            {
                Interlocked.Add(ref _readerLosses, lost);
                batch.Add(new GetFlowsResponse
                {
                    LostEvents = new LostEvent { Source = LostEventSource.HubbleRingBuffer, NumEventsLost = (ulong)lost },
                    Time = Timestamp.FromDateTimeOffset(_time.GetUtcNow()),
                });
            }
            if (chunk.Count == 0 && !follow) return;
            var done = false;
            foreach (var e in chunk)
            {
                if (e.TimeNanos > until) { done = true; break; }
                if (e.TimeNanos < since || !filter.Matches(e.Message)) continue;
                batch.Add(e.Message);
                if (++sent >= limit) { done = true; break; }
            }
            await WriteBatch(stream, batch, ct).ConfigureAwait(false);
            if (done) return;
        }
    }

    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);
    private static readonly WriteOptions Flushed = new();

    // One flush per batch instead of one per message: a flush per flow costs a syscall and a frame each and
    // caps a stream at a few tens of thousands of flows per second.
    private static async Task WriteBatch(IServerStreamWriter<GetFlowsResponse> stream, List<GetFlowsResponse> batch, CancellationToken ct)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            stream.WriteOptions = i == batch.Count - 1 ? Flushed : Buffered;
            await stream.WriteAsync(batch[i], ct).ConfigureAwait(false);
        }
    }

    public override Task<GetNodesResponse> GetNodes(GetNodesRequest request, ServerCallContext context)
    {
        var uptime = UptimeNanos();
        var response = new GetNodesResponse();
        foreach (var node in _cluster.Nodes)
        {
            var (held, seen) = _ring.NodeCounts(node.Name);
            response.Nodes.Add(new Node
            {
                Name = node.Name,
                Version = _options.Version,
                Address = node.IpText + ":4244",
                State = NodeState.NodeConnected,
                Tls = new TLS { Enabled = false },
                UptimeNs = uptime,
                NumFlows = (ulong)held,
                MaxFlows = (ulong)_ring.Capacity,
                SeenFlows = (ulong)seen,
            });
        }
        return Task.FromResult(response);
    }

    public override Task<ServerStatusResponse> ServerStatus(ServerStatusRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerStatusResponse
        {
            NumFlows = (ulong)_ring.Count,
            MaxFlows = (ulong)_ring.Capacity,
            SeenFlows = (ulong)_ring.Next,
            UptimeNs = UptimeNanos(),
            NumConnectedNodes = (uint)_cluster.Nodes.Count,
            NumUnavailableNodes = 0,
            Version = _options.Version,
        });

    private ulong UptimeNanos() => (ulong)Math.Max(0, (_time.GetUtcNow() - _started).Ticks * 100);

    private static long Nanos(Timestamp t) => t.Seconds * 1_000_000_000L + t.Nanos;
}
