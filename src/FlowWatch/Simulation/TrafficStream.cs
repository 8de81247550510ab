using FlowWatch.Hubble.Proto.Observer;

namespace FlowWatch.Simulation;

/// <summary>A running, deterministic generator of flows in event time; <see cref="EmitUntil"/> hands out every flow before a time, in time order.</summary>
/// <remarks>
/// Conversations (a connection, a lookup) are started on two kinds of clock: the background clock, which moves by
/// <c>flows / rate</c> after every conversation so that the total output keeps the configured rate, and one clock
/// per scenario driver, which starts the scenario's conversations at a fixed event-time pace whatever the rate
/// (so a scenario shows within seconds at 100 flows/s and does not swamp anything at 1M flows/s). Started
/// conversations wait in a heap ordered by (time, sequence); a flow is released only once no conversation can
/// start before it, so output never goes back in time. In bounded mode (a batch), a conversation that would not
/// finish before the end is discarded whole, so a batch never holds half a handshake or a question with its
/// answer cut off.
/// </remarks>
public sealed class TrafficStream
{
    private const long Ms = 1_000_000;

    private static readonly (int Weight, Action<Conversations, long> Start)[] Background =
    [
        (30, (c, t) => c.DnsLookup(t)),
        (22, (c, t) => c.PodHttp(t)),
        (8, (c, t) => c.PodTcp(t)),
        (10, (c, t) => c.Probe(t)),
        (6, (c, t) => c.HealthPing(t)),
        (8, (c, t) => c.Statsd(t)),
        (4, (c, t) => c.WorldEgress(t)),
        (4, (c, t) => c.ExternalLedger(t)),
        (8, (c, t) => c.ExternalStorefront(t)),
    ];
    private static readonly int BackgroundTotal = Background.Sum(b => b.Weight);

    private readonly PriorityQueue<GetFlowsResponse, (long Time, long Seq)> _pending = new();
    private readonly SimRandom _rng;
    private readonly FlowFactory _factory;
    private readonly Conversations _conversations;
    private readonly Driver[] _drivers;
    private readonly double _nanosPerFlow;
    private readonly long _end;
    private readonly RelayShaper? _shaper;
    private readonly long _slack;
    private readonly List<GetFlowsResponse> _sorted = [];
    private double _background;
    private long _seq;
    private long _position;

    internal TrafficStream(SimulatedCluster cluster, ScenarioSet scenarios, double flowsPerSecond, ulong seed, long startNanos, long endNanos,
        NodeCollapseTiming? collapse = null, TrafficShapes? shapes = null)
    {
        _rng = new SimRandom(seed);
        shapes ??= TrafficShapes.None;
        var shaped = shapes.Reorders;
        // The shapes draw from a stream of their own: with them off, the same seed gives the same conversations.
        var shapeRng = new SimRandom(seed ^ 0x5EA5_0F5E_1A7E_D00DUL);
        _factory = new FlowFactory(_rng) { Shapes = shaped ? shapes : null, ShapeRandom = shaped ? shapeRng : null };
        _shaper = shaped ? new RelayShaper(shapes, cluster.Nodes, new SimRandom(seed ^ 0x7E1A_75EE_D0C5_0001UL)) : null;
        _slack = shaped ? FlowFactory.ExtraLeadNanos : 0;
        _conversations = new Conversations(cluster, scenarios, _rng, _factory);
        collapse ??= NodeCollapseTiming.Default;
        _conversations.CollapseFrom = startNanos + collapse.After.Ticks * 100;
        _conversations.CollapseUntil = collapse.RecoverAfter is { } r ? startNanos + r.Ticks * 100 : long.MaxValue;
        _nanosPerFlow = 1e9 / flowsPerSecond;
        _end = endNanos;
        _position = startNanos;
        _background = startNanos + _rng.NextDouble() * _nanosPerFlow;
        var drivers = new List<Driver>();
        if (scenarios.Has(Scenario.DnsDrops))
        {
            drivers.Add(new Driver(1000 * Ms, (c, t, _) => c.DeniedLookup(t)));
            drivers.Add(new Driver(1000 * Ms, (c, t, _) => c.CartLookup(t)));
            drivers.Add(new Driver(1000 * Ms, (c, t, _) => c.UnansweredLookup(t)));
        }
        if (scenarios.Has(Scenario.DuplicateIp)) drivers.Add(new Driver(500 * Ms, (c, t, _) => c.LegacyBatch(t)));
        if (scenarios.Has(Scenario.Asymmetric)) drivers.Add(new Driver(500 * Ms, (c, t, n) => c.LedgerVisit(t, n)));
        if (scenarios.Has(Scenario.NodePortBackend)) drivers.Add(new Driver(200 * Ms, (c, t, _) => c.StorefrontVisit(t)));
        if (scenarios.Has(Scenario.NodeCollapse)) drivers.Add(new Driver(150 * Ms, (c, t, n) => c.CollapsedNodeCall(t, n)));
        foreach (var d in drivers) d.Next = startNanos + (long)(_rng.NextDouble() * d.Interval);
        _drivers = [.. drivers];
    }

    /// <summary>Every flow before this time has been emitted.</summary>
    public DateTimeOffset Position => DateTimeOffset.UnixEpoch.AddTicks(_position / 100);

    public long Emitted { get; private set; }
    public long ConversationsStarted { get; private set; }
    /// <summary>Conversations dropped whole because they would not have finished before the end of a batch.</summary>
    public long ConversationsDiscarded { get; private set; }

    /// <summary>
    /// Appends to <paramref name="output"/> every flow with an event time before <paramref name="until"/>: in time order
    /// when the stream has no shapes, else as a Relay delivers them (a lagging node's flows later, see <see cref="RelayShaper"/>).
    /// </summary>
    /// <returns>How many messages were appended.</returns>
    public int EmitUntil(DateTimeOffset until, ICollection<GetFlowsResponse> output)
    {
        var limit = (until.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        int count;
        if (_shaper is null) count = EmitSorted(limit, output);
        else
        {
            _sorted.Clear();
            EmitSorted(limit, _sorted);
            foreach (var message in _sorted) _shaper.Add(TimeOf(message), message);
            count = _shaper.EmitUntil(limit, output);
        }
        if (limit > _position) _position = limit;
        Emitted += count;
        return count;
    }

    /// <summary>Appends what the shapes still hold back (a bounded batch has ended).</summary>
    public int Finish(ICollection<GetFlowsResponse> output)
    {
        var count = _shaper?.Flush(output) ?? 0;
        Emitted += count;
        return count;
    }

    private static long TimeOf(GetFlowsResponse message) => message.Time.Seconds * 1_000_000_000L + message.Time.Nanos;

    private int EmitSorted(long limit, ICollection<GetFlowsResponse> output)
    {
        var count = 0;
        while (true)
        {
            var start = (long)_background;
            var driver = -1;
            for (var i = 0; i < _drivers.Length; i++)
                if (_drivers[i].Next < start) { start = _drivers[i].Next; driver = i; }
            // A flow can go once no conversation still to start can put a flow before it (shapes stamp theirs a little early).
            var horizon = start >= _end ? long.MaxValue : start - _slack;
            if (_pending.TryPeek(out var message, out var key) && key.Time < limit && key.Time < horizon)
            {
                _pending.Dequeue();
                output.Add(message);
                count++;
                continue;
            }
            if (start < limit && start < _end)
            {
                StartConversation(driver, start);
                continue;
            }
            break;
        }
        return count;
    }

    /// <summary>
    /// Starts no conversation before <paramref name="time"/> (conversations already started still finish): how a
    /// live generator that fell behind the wall clock catches up without a burst.
    /// </summary>
    public void SkipTo(DateTimeOffset time)
    {
        var nanos = (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        if (_background < nanos) _background = nanos;
        foreach (var d in _drivers)
            if (d.Next < nanos) d.Next = nanos + (long)(_rng.NextDouble() * d.Interval);
    }

    private void StartConversation(int driver, long start)
    {
        var output = _factory.Output;
        output.Clear();
        _factory.Extras = 0;
        if (driver < 0)
        {
            var pick = _rng.Next(BackgroundTotal);
            var i = 0;
            while (pick >= Background[i].Weight) pick -= Background[i++].Weight;
            Background[i].Start(_conversations, start);
        }
        else
        {
            var d = _drivers[driver];
            d.Start(_conversations, start, d.Runs++);
            // Jitter keeps drivers from beating against each other and the background.
            d.Next += d.Interval / 2 + (long)(_rng.NextDouble() * d.Interval);
        }
        ConversationsStarted++;
        // Only the conversation's own flows pace the background, so the shapes leave the traffic itself unchanged.
        _background += Math.Max(output.Count - _factory.Extras, 1) * _nanosPerFlow;
        var last = long.MinValue;
        foreach (var (time, _) in output) last = Math.Max(last, time);
        if (output.Count > 0 && last >= _end)
        {
            ConversationsDiscarded++;
            return;
        }
        foreach (var (time, message) in output) _pending.Enqueue(message, (time, _seq++));
    }

    private sealed class Driver(long interval, Action<Conversations, long, int> start)
    {
        public long Interval { get; } = interval;
        public Action<Conversations, long, int> Start { get; } = start;
        public long Next { get; set; }
        public int Runs { get; set; }
    }
}
