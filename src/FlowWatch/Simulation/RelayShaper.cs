using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Hubble.Proto.Relay;
using Google.Protobuf.WellKnownTypes;

namespace FlowWatch.Simulation;

/// <summary>Delivers a sorted stream as a Relay would: each node's flows late by a lag of its own, lost events and node status between.</summary>
/// <remarks>
/// Each node's lag is drawn again every couple of seconds of event time (mostly tens of milliseconds, now and then up to
/// <see cref="TrafficShapes.MaxNodeLag"/>), and a flow is delivered at its stamp plus its node's lag, never before the node's
/// previous flow, so each node's own flows keep their order while the nodes overtake one another. The skewed node's stamps
/// are moved by <see cref="TrafficShapes.ClockSkew"/> (its clock is wrong, its delivery is not). Draws from a random stream
/// of its own. Holds at most the lag's worth of flows.
/// </remarks>
internal sealed class RelayShaper
{
    private const long Ms = 1_000_000;
    private const long RedrawEvery = 2_000 * Ms;

    private readonly TrafficShapes _shapes;
    private readonly SimRandom _rng;
    private readonly IReadOnlyList<SimNode> _nodes;
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly PriorityQueue<GetFlowsResponse, (long Delivery, long Seq)> _held = new();
    private readonly long[] _lag, _lastDelivery, _redrawAt;
    private readonly long _maxLag, _skew;
    private readonly int _skewed;
    private long _nextLost = long.MinValue, _nextStatus = long.MinValue;
    private long _seq;

    public RelayShaper(TrafficShapes shapes, IReadOnlyList<SimNode> nodes, SimRandom rng)
    {
        _shapes = shapes;
        _rng = rng;
        _nodes = nodes;
        for (var i = 0; i < nodes.Count; i++) _index[nodes[i].Name] = i;
        _lag = new long[nodes.Count];
        _lastDelivery = new long[nodes.Count];
        _redrawAt = new long[nodes.Count];
        Array.Fill(_redrawAt, long.MinValue);
        _maxLag = shapes.MaxNodeLag.Ticks * 100;
        _skew = shapes.ClockSkew.Ticks * 100;
        _skewed = shapes.SkewedNode - 1;
    }

    /// <summary>Messages waiting for their delivery time.</summary>
    public int Held => _held.Count;

    /// <summary>Takes the next message of the sorted stream (<paramref name="time"/> its true event time).</summary>
    public void Add(long time, GetFlowsResponse message)
    {
        Occasional(time);
        var node = _index.GetValueOrDefault(message.NodeName, -1);
        var delivery = time;
        if (node >= 0)
        {
            if (time >= _redrawAt[node]) Redraw(node, time);
            delivery = Math.Max(time + _lag[node], _lastDelivery[node]);
            _lastDelivery[node] = delivery;
            if (node == _skewed && _skew != 0 && message.Flow is { } flow)
            {
                // flow.Time and message.Time are one shared Timestamp (FlowFactory); a fresh one leaves the batch's others alone.
                var stamped = time + _skew;
                var ts = new Timestamp { Seconds = Math.DivRem(stamped, 1_000_000_000L, out var nanos), Nanos = (int)nanos };
                flow.Time = ts;
                message.Time = ts;
            }
        }
        _held.Enqueue(message, (delivery, _seq++));
    }

    /// <summary>Appends every message due before <paramref name="limit"/> (delivery time, ns), in delivery order.</summary>
    public int EmitUntil(long limit, ICollection<GetFlowsResponse> output)
    {
        var count = 0;
        while (_held.TryPeek(out var message, out var key) && key.Delivery < limit)
        {
            _held.Dequeue();
            output.Add(message);
            count++;
        }
        return count;
    }

    /// <summary>Appends everything still held (a batch ended).</summary>
    public int Flush(ICollection<GetFlowsResponse> output) => EmitUntil(long.MaxValue, output);

    private void Redraw(int node, long time)
    {
        // Most of the time a node is a few tens of milliseconds behind; now and then one falls far behind for a while.
        var far = _rng.Chance(0.2);
        var lag = far ? (long)(_rng.NextDouble() * _maxLag) : (long)(_rng.NextDouble() * Math.Min(_maxLag, 80 * Ms));
        _lag[node] = lag;
        _redrawAt[node] = time + RedrawEvery / 2 + (long)(_rng.NextDouble() * RedrawEvery);
    }

    private void Occasional(long time)
    {
        if (_shapes.LostEventsEvery is { } lostEvery)
        {
            if (_nextLost == long.MinValue) _nextLost = time + Jitter(lostEvery);
            else if (time >= _nextLost)
            {
                var node = _rng.Next(_nodes.Count);
                Hold(time, node, new GetFlowsResponse
                {
                    LostEvents = new LostEvent
                    {
                        Source = LostEventSource.PerfEventRingBuffer,
                        NumEventsLost = (ulong)_rng.Next(1, 64),
                        Cpu = _rng.Next(0, 4),
                    },
                    NodeName = _nodes[node].Name,
                });
                _nextLost = time + Jitter(lostEvery);
            }
        }
        if (_shapes.NodeStatusEvery is { } statusEvery)
        {
            if (_nextStatus == long.MinValue) _nextStatus = time + Jitter(statusEvery);
            else if (time >= _nextStatus)
            {
                var node = _rng.Next(_nodes.Count);
                // What a Relay says when it (re)connects to a node's agent; the message itself carries no node name.
                Hold(time, node, new GetFlowsResponse
                {
                    NodeStatus = new NodeStatusEvent { StateChange = NodeState.NodeConnected, NodeNames = { _nodes[node].Name } },
                });
                _nextStatus = time + Jitter(statusEvery);
            }
        }
    }

    private void Hold(long time, int node, GetFlowsResponse message)
    {
        message.Time = new Timestamp { Seconds = Math.DivRem(time, 1_000_000_000L, out var nanos), Nanos = (int)nanos };
        var delivery = Math.Max(time + _lag[node], _lastDelivery[node]);
        _lastDelivery[node] = delivery;
        _held.Enqueue(message, (delivery, _seq++));
    }

    private long Jitter(TimeSpan every) => (long)(every.Ticks * 100 * (0.5 + _rng.NextDouble()));
}
