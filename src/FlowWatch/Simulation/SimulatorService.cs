using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Hubble.Proto.Relay;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace FlowWatch.Simulation;

/// <summary>
/// observer.Observer over the simulator's ring as Cilium v1.14's local observer answers: GetFlows (number, first,
/// follow, since/until, whitelist/blacklist per <see cref="FlowRequestFilter"/>, experimental.field_mask),
/// GetNodes (as Relay), GetNamespaces and ServerStatus.
/// </summary>
/// <remarks>
/// GetFlows positions its reader as Hubble's newRingReader does: <c>first</c> starts at the oldest entry; a plain
/// <c>follow</c> at the next one; otherwise a backward scan from the newest stops at the <c>number</c>-th matching
/// flow or, when <c>since</c> is given (it takes precedence), at the first matching flow older than since. Reading on
/// sends at most <c>number</c> flows (without follow), skips flows before since and ends at the first flow after
/// until, so <c>since</c> with <c>number</c> gives the oldest N after since. A reader that falls more than the ring
/// behind gets a lost_events message (source HUBBLE_RING_BUFFER) with the count it missed; lost events bypass the
/// filters and do not count towards number. The ring holds flows in the order a Relay delivers them (nodes lag one another,
/// <see cref="TrafficShapes"/>), so since and until are applied as a Relay applies them, to every node's flows: the scan back
/// and the end at until allow for the ring's disorder, and exactly the flows stamped in the range are sent, in delivery order.
/// <para>
/// As Cilium's newRingReader over its ring (pkg/hubble/observer/local_observer.go, container/ring.go): once the ring
/// is full, a backward scan that visits every held entry without stopping (no number-th match, no flow before since:
/// <c>--all</c>, or a since older than the ring) ends one position before the oldest entry, an overwritten one, so the
/// answer starts with one LostEvent (HUBBLE_RING_BUFFER, num_events_lost 1): the reader is told the ring may not reach
/// back as far as it asked. Cilium's ring counts full from capacity+1 writes with its reserved writer slot; this ring
/// has none, so it is full at capacity (as hubble-refserver's default mode).
/// </para>
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
    // How far the ring's order (delivery, as a Relay merges its nodes) may stray from stamp order; 0 for a sorted stream.
    private readonly long _disorderNanos;

    public SimulatorService(SimulatorOptions options, SimulatedCluster cluster, FlowRing ring, TimeProvider? time = null)
    {
        _options = options;
        _cluster = cluster;
        _ring = ring;
        _time = time ?? TimeProvider.System;
        _started = _time.GetUtcNow();
        var shapes = options.Shapes;
        _disorderNanos = shapes.Reorders ? (shapes.MaxNodeLag + shapes.ClockSkew.Duration()).Ticks * 100 + FlowFactory.ExtraLeadNanos : 0;
    }

    /// <summary>Entries followers missed because the ring overwrote them first (sum over all calls).</summary>
    public long ReaderLosses => Interlocked.Read(ref _readerLosses);

    /// <summary>Ends every open GetFlows stream, so that the server can stop without waiting for followers.</summary>
    public void Stop() => _stopping.Cancel();

    public override async Task GetFlows(GetFlowsRequest request, IServerStreamWriter<GetFlowsResponse> responseStream, ServerCallContext context)
    {
        if (request.First && request.Follow)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "first cannot be specified with follow"));
        var filter = FlowRequestFilter.From(request);
        var mask = FlowFieldMask.From(request.Experimental?.FieldMask);
        long? since = request.Since is { } s ? Nanos(s) : null;
        long until = request.Until is { } u ? Nanos(u) : long.MaxValue;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _stopping.Token);
        var ct = linked.Token;
        var chunk = new List<FlowRing.Entry>(ReadChunk);
        try
        {
            long cursor;
            if (request.First && since is null) cursor = _ring.Oldest;
            else if (request.Follow && request.Number == 0 && since is null) cursor = _ring.Next;
            else cursor = ScanBack(request.Number, since, filter, chunk);
            var end = request.Follow ? long.MaxValue : _ring.Next;
            var limit = request.Follow || request.Number is 0 or > long.MaxValue ? long.MaxValue : (long)request.Number;
            await Pump(cursor, end, limit, request.Follow, since ?? long.MinValue, until, filter, mask, responseStream, chunk, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away or the simulator is stopping: the stream simply ends.
        }
    }

    /// <summary>Hubble's backward scan: where a reader starts for <c>number</c> and <c>since</c> (see the remarks).</summary>
    private long ScanBack(ulong number, long? since, FlowRequestFilter filter, List<FlowRing.Entry> chunk)
    {
        var end = _ring.Next;
        var oldest = _ring.Oldest;
        ulong count = 0;
        for (var top = end; top > oldest;)
        {
            var from = Math.Max(oldest, top - ReadChunk);
            chunk.Clear();
            var (lost, _) = _ring.Read(from, chunk, (int)(top - from));
            if (lost > 0) return from + lost; // overwritten while scanning: start at what is left
            for (var i = chunk.Count - 1; i >= 0; i--)
            {
                var e = chunk[i];
                if (e.Message.Flow is null || !filter.Matches(e.Message)) continue;
                count++;
                // A Relay asks every node since that time: with lagging nodes a flow older than since is no sign that none
                // before it is newer, until it is older by more than the ring's disorder.
                if (since is { } t) { if (e.TimeNanos < t - _disorderNanos) return e.Seq + 1; }
                else if (count == number) return e.Seq;
            }
            top = from;
        }
        // The scan went through the whole ring: on a full one the reader starts at the overwritten slot before the oldest.
        return _ring.Next >= _ring.Capacity ? oldest - 1 : oldest;
    }

    /// <summary>Sends matching entries from <paramref name="cursor"/> up to <paramref name="end"/> (or for ever when following).</summary>
    private async Task Pump(long cursor, long end, long limit, bool follow, long since, long until, FlowRequestFilter filter,
        FlowFieldMask? mask, IServerStreamWriter<GetFlowsResponse> stream, List<FlowRing.Entry> chunk, CancellationToken ct)
    {
        var sent = 0L;
        var batch = new List<GetFlowsResponse>(ReadChunk + 1);
        while (cursor < end && sent < limit)
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
                if (e.Message.Flow is null) { batch.Add(e.Message); continue; }
                if (e.TimeNanos > until)
                {
                    // Every node's reader ends at its own first flow after until; a lagging node's flows up to until come later.
                    if (e.TimeNanos - _disorderNanos > until) { done = true; break; }
                    continue;
                }
                if (e.TimeNanos < since || !filter.Matches(e.Message)) continue;
                batch.Add(mask is null ? e.Message : mask.Apply(e.Message));
                if (++sent >= limit) break;
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

    /// <summary>Namespaces of the flows still in the ring, sorted, in the simulated cluster (Hubble lists those seen in the last hour).</summary>
    public override Task<GetNamespacesResponse> GetNamespaces(GetNamespacesRequest request, ServerCallContext context)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        var chunk = new List<FlowRing.Entry>(ReadChunk);
        for (var cursor = _ring.Oldest; cursor < _ring.Next;)
        {
            chunk.Clear();
            (_, cursor) = _ring.Read(cursor, chunk, ReadChunk);
            if (chunk.Count == 0) break;
            foreach (var e in chunk)
            {
                if (e.Message.Flow is not { } f) continue;
                if (f.Source is { Namespace.Length: > 0 } src) names.Add(src.Namespace);
                if (f.Destination is { Namespace.Length: > 0 } dst) names.Add(dst.Namespace);
            }
        }
        var response = new GetNamespacesResponse();
        foreach (var ns in names) response.Namespaces.Add(new Namespace { Cluster = SimulatedCluster.ClusterName, Namespace_ = ns });
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
