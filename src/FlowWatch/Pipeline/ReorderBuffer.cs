using FlowWatch.Flows;

namespace FlowWatch.Pipeline;

/// <summary>Puts the flows of several nodes back into event-time order before the detectors: per-node queues merged by a watermark.</summary>
/// <remarks>
/// <para>
/// A Relay merges its nodes' streams through a short sort buffer, so a node that lags arrives out of order with the others
/// while each node's own flows keep their order; a packet between pods on two nodes is seen on both. Each node's flows wait in
/// a queue of their own, kept in time order (a flow older than its node's newest, the small disorder of one agent's CPUs, is
/// slotted in from the back). The watermark is the oldest of the active nodes' newest stamps: every active node has reported
/// up to it, so everything at or before it can go on in order, merged across nodes. Nothing is subtracted from it, so a
/// stream from one node (or in order) passes straight through.
/// </para>
/// <para>
/// A node whose newest flow is more than the allowed lateness behind the newest of all is idle (quiet, gone, or its clock is
/// behind) and stops holding the watermark back, so no flow waits longer than the allowed lateness of event time. A node not
/// heard from yet cannot hold it, unless it was named (<see cref="Expect"/>, <see cref="Announce"/>: Kubernetes' Cilium agents,
/// a Relay's GetNodes): a named node that has not spoken holds the watermark for at most the allowed lateness from when it was
/// named (the start of the stream, or when it joined), so its first flows are put in order if it lags and a silent one holds
/// nothing for long; a node the Relay reports no longer connected stops holding at once. A flow
/// that arrives behind what was already released cannot be put in order: it is passed on at once, never dropped (the
/// pipeline counts it late when it is more than the allowed lateness behind). The buffer is bounded: when it is full the
/// oldest flow is forced out ahead of the watermark and counted; so is every flow of a node past the node bound.
/// </para>
/// <para>
/// A node is known by its flow source and its name (<see cref="FlowRecord.Origin"/>, <see cref="FlowRecord.NodeName"/>):
/// two clusters' Relays may both have a node called <c>ip-10-0-1-23.ec2.internal</c> (overlapping VPC ranges) or
/// <c>aks-nodepool1-…-vmss000000</c>, and as one queue their flows, each in order, would interleave out of order.
/// </para>
/// </remarks>
public sealed class ReorderBuffer
{
    private readonly Action<FlowRecord> _deliver;
    private readonly long _latenessNanos;
    private readonly Dictionary<(string Origin, string Name), NodeQueue> _nodes = new();
    private readonly PriorityQueue<NodeQueue, (long Time, long Version)> _heads = new();
    // One entry per active node, keyed by its newest stamp when the entry was made: a lower bound of the node's newest, since
    // that only grows. Only the top is brought up to date (in Watermark), so a flow costs no heap work unless its node is the
    // one holding the watermark; one entry per flow made two operations on a heap of 400k entries at 5,000 nodes.
    private readonly PriorityQueue<NodeQueue, long> _newest = new();
    // Named nodes not heard from yet (by their source, null for any: Kubernetes names nodes, not sources; and by the name after
    // any "cluster/"), with the event time they were named at (long.MinValue: before the first flow, from the stream's start).
    private readonly Dictionary<(string? Origin, string Name), long> _expected = new();
    private string? _lastOrigin;
    private string? _lastName;
    private NodeQueue? _lastNode;
    private long _version;
    private long _frontier = long.MinValue;
    private long _released = long.MinValue;
    private long _first = long.MinValue;

    /// <param name="deliver">Receives every flow, in event-time order as far as the lateness allows; called on the caller's thread.</param>
    public ReorderBuffer(TimeSpan allowedLateness, int capacity, Action<FlowRecord> deliver, int maxNodes = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(allowedLateness.Ticks, nameof(allowedLateness));
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1, nameof(capacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNodes, 1, nameof(maxNodes));
        _latenessNanos = allowedLateness.Ticks * 100;
        Capacity = capacity;
        MaxNodes = maxNodes;
        _deliver = deliver;
    }

    public int Capacity { get; }
    public int MaxNodes { get; }

    /// <summary>Flows waiting for the watermark.</summary>
    public int Count { get; private set; }

    /// <summary>Flows passed on before the watermark reached them, because the buffer or its node table was full.</summary>
    public long Forced { get; private set; }

    /// <summary>Flows that arrived behind what was already released and were passed on out of order.</summary>
    public long OutOfOrder { get; private set; }

    /// <summary>Nodes tracked.</summary>
    public int Nodes => _nodes.Count;

    /// <summary>Takes one flow; passes on, in order, every flow the watermark now allows (this one included, often).</summary>
    public void Add(FlowRecord flow)
    {
        var t = flow.TimeNanos;
        if (t == 0 || t < _released)
        {
            if (t != 0) OutOfOrder++;
            _deliver(flow);
            return;
        }
        var node = NodeOf(flow.Origin, flow.NodeName);
        if (node is null)
        {
            Forced++;
            Emit(flow);
            return;
        }
        if (node.Gone)
        {
            // It speaks again: it holds the watermark as any node does.
            node.Gone = false;
        }
        if (t > node.Newest) node.Newest = t;
        if (!node.Holding)
        {
            node.Holding = true;
            _newest.Enqueue(node, node.Newest);
        }
        if (t > _frontier) _frontier = t;
        if (_first == long.MinValue) _first = t;
        if (node.Insert(flow)) PushHead(node);
        Count++;
        while (Count > Capacity) ForceOldest();
        ReleaseUpTo(Watermark());
    }

    /// <summary>Passes on every flow stamped at or before <paramref name="nanos"/>: event time has reached it (idle live stream, drain).</summary>
    public void ReleaseUpTo(long nanos)
    {
        while (_heads.TryPeek(out var node, out var key))
        {
            if (node.HeadVersion != key.Version) { _heads.Dequeue(); continue; }
            if (key.Time > nanos) break;
            _heads.Dequeue();
            Take(node);
        }
    }

    /// <summary>Passes on everything waiting (the input ended).</summary>
    public void Flush() => ReleaseUpTo(long.MaxValue);

    /// <summary>The oldest of the active nodes' newest stamps (see the remarks).</summary>
    private long Watermark()
    {
        var idleBefore = _frontier - _latenessNanos;
        var watermark = _frontier;
        while (_newest.TryPeek(out var node, out var newest))
        {
            if (node.Gone || node.Newest < idleBefore)
            {
                _newest.Dequeue();
                node.Holding = false;
                continue;
            }
            if (newest != node.Newest)
            {
                _newest.DequeueEnqueue(node, node.Newest);
                continue;
            }
            watermark = newest;
            break;
        }
        // A named node not heard from yet cannot hold the watermark by its own newest: until it speaks, or the allowed lateness
        // has passed since it was named, nothing stamped after (named at - lateness) goes on, since its first flows may be that late.
        if (_expected.Count > 0) watermark = Math.Min(watermark, ExpectedHold());
        return watermark;
    }

    private List<(string?, string)>? _expired;

    private long ExpectedHold()
    {
        var hold = long.MaxValue;
        foreach (var (name, at) in _expected)
        {
            var from = at == long.MinValue ? _first : at;
            if (_frontier - from > _latenessNanos) (_expired ??= []).Add(name);
            else hold = Math.Min(hold, from == long.MinValue ? long.MinValue : from - _latenessNanos);
        }
        if (_expired is { Count: > 0 })
        {
            foreach (var name in _expired) _expected.Remove(name);
            _expired.Clear();
        }
        return hold;
    }

    /// <summary>Names nodes some source will carry (Kubernetes' Cilium agents, which say nothing of the source): see <see cref="Announce(string, IEnumerable{string}, IEnumerable{string})"/>.</summary>
    public void Expect(IEnumerable<string> nodes) => Announce(null, nodes, []);

    /// <summary>What the only source says of its nodes: see <see cref="Announce(string, IEnumerable{string}, IEnumerable{string})"/>.</summary>
    public void Announce(IEnumerable<string> connected, IEnumerable<string> notConnected) => Announce("", connected, notConnected);

    /// <summary>
    /// What the flow source <paramref name="origin"/> says of its nodes (a Relay's GetNodes; null: some source, as Kubernetes'
    /// Cilium agents say): each node in <paramref name="connected"/> not heard from yet holds the watermark until it speaks or
    /// the allowed lateness has passed (see the remarks); each node in <paramref name="notConnected"/> stops holding it until
    /// it sends a flow again.
    /// </summary>
    public void Announce(string? origin, IEnumerable<string> connected, IEnumerable<string> notConnected)
    {
        var at = _first == long.MinValue ? long.MinValue : _frontier;
        foreach (var name in connected)
            if (NodeNamed(origin, name) is null && _expected.Count < MaxNodes) _expected.TryAdd((origin, ShortName(name)), at);
        foreach (var name in notConnected)
        {
            _expected.Remove((origin, ShortName(name)));
            if (NodeNamed(origin, name) is { } node) node.Gone = true;
        }
    }

    /// <summary>The queue of the node <paramref name="name"/> (or the same name after any "cluster/") of the source <paramref name="origin"/>, of any source when null.</summary>
    private NodeQueue? NodeNamed(string? origin, string name)
    {
        if (origin is not null && _nodes.TryGetValue((origin, name), out var node)) return node;
        var shortName = ShortName(name);
        foreach (var (key, queue) in _nodes)
            if ((origin is null || key.Origin == origin) && ShortName(key.Name) == shortName) return queue;
        return null;
    }

    // A Relay may name nodes cluster/node where Kubernetes says node.
    private static string ShortName(string name) => name.LastIndexOf('/') is var slash and >= 0 ? name[(slash + 1)..] : name;

    private void RebuildNewest()
    {
        _newest.Clear();
        foreach (var node in _nodes.Values)
        {
            node.Holding = node.Newest != long.MinValue && !node.Gone;
            if (node.Holding) _newest.Enqueue(node, node.Newest);
        }
    }

    private void ForceOldest()
    {
        while (_heads.TryDequeue(out var node, out var key))
        {
            if (node.HeadVersion != key.Version) continue;
            Forced++;
            Take(node);
            return;
        }
    }

    private void Take(NodeQueue node)
    {
        var flow = node.Pop();
        Count--;
        if (node.Count > 0) PushHead(node);
        else node.HeadVersion = -1;
        Emit(flow);
    }

    private void Emit(FlowRecord flow)
    {
        if (flow.TimeNanos > _released) _released = flow.TimeNanos;
        _deliver(flow);
    }

    private void PushHead(NodeQueue node)
    {
        node.HeadVersion = ++_version;
        _heads.Enqueue(node, (node.HeadTime, node.HeadVersion));
    }

    private NodeQueue? NodeOf(string origin, string name)
    {
        if (ReferenceEquals(name, _lastName) && ReferenceEquals(origin, _lastOrigin)) return _lastNode;
        if (!_nodes.TryGetValue((origin, name), out var node))
        {
            if (_nodes.Count >= MaxNodes && !ForgetIdleNodes()) return null;
            _nodes[(origin, name)] = node = new NodeQueue();
            if (_expected.Count > 0)
            {
                var shortName = ShortName(name);
                _expected.Remove((origin, shortName));
                _expected.Remove((null, shortName));
            }
        }
        _lastOrigin = origin;
        _lastName = name;
        _lastNode = node;
        return node;
    }

    // Rare (a node table full of names): forget nodes that wait for nothing and no longer hold the watermark.
    private bool ForgetIdleNodes()
    {
        var idleBefore = _frontier - _latenessNanos;
        foreach (var (key, node) in _nodes)
            if (node.Count == 0 && node.Newest < idleBefore) _nodes.Remove(key);
        _lastOrigin = null;
        _lastName = null;
        _lastNode = null;
        RebuildNewest();
        return _nodes.Count < MaxNodes;
    }

    /// <summary>One node's waiting flows in time order: a ring buffer that inserts from the back.</summary>
    private sealed class NodeQueue
    {
        private FlowRecord[] _items = new FlowRecord[8];
        private int _head;

        public long Newest = long.MinValue;
        /// <summary>The node has its entry in the watermark heap (it has spoken, and is neither idle nor gone).</summary>
        public bool Holding;
        public long HeadVersion = -1;
        /// <summary>The source says the node is no longer connected: it holds the watermark no more.</summary>
        public bool Gone;
        public int Count { get; private set; }

        public long HeadTime => _items[_head].TimeNanos;

        /// <summary>Inserts in time order (after equal stamps); true when the flow became the head.</summary>
        public bool Insert(FlowRecord flow)
        {
            if (Count == _items.Length) Grow();
            var mask = _items.Length - 1;
            var t = flow.TimeNanos;
            var i = Count;
            while (i > 0 && _items[(_head + i - 1) & mask].TimeNanos > t)
            {
                _items[(_head + i) & mask] = _items[(_head + i - 1) & mask];
                i--;
            }
            _items[(_head + i) & mask] = flow;
            Count++;
            return i == 0;
        }

        public FlowRecord Pop()
        {
            var flow = _items[_head];
            _items[_head] = null!;
            _head = (_head + 1) & (_items.Length - 1);
            Count--;
            // A burst grew the ring; give the memory back once it has drained.
            if (Count == 0 && _items.Length > 1024) { _items = new FlowRecord[8]; _head = 0; }
            return flow;
        }

        private void Grow()
        {
            var bigger = new FlowRecord[_items.Length * 2];
            for (var i = 0; i < Count; i++) bigger[i] = _items[(_head + i) & (_items.Length - 1)];
            _items = bigger;
            _head = 0;
        }
    }
}
