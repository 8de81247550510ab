using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Metrics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Hubble;

/// <summary>Follows GetFlows on a Relay or agent, reconnecting forever with capped, jittered backoff.</summary>
/// <remarks>
/// One channel per target, a reconnect loop around the stream. A reconnect resumes <c>since</c> a little before the
/// newest flow handed on and drops what it already passed (<see cref="ResumeWindow"/>), so a Relay restart loses
/// nothing Hubble still buffers and counts nothing twice. A stream silent for <see cref="HubbleClientOptions.IdleTimeout"/>
/// is abandoned (<see cref="StreamWatchdog"/>); HTTP/2 pings catch dead connections sooner. Bad messages, server
/// errors and transport failures are counted and end only the current stream, never the loop; an undecodable
/// message is counted and skipped without ending even the stream. Every change of connection state, each lost-event
/// notice and each undecodable message is logged as it happens (<c>HubbleStreamSource.Log.cs</c>); lost-event and
/// bad-message lines are folded to one per <see cref="LogFoldPeriod"/> so a lossy Relay cannot flood the log.
/// </remarks>
public sealed partial class HubbleStreamSource
{
    /// <summary>Lost-event and bad-message notices within this period after a logged one are summed into the next line.</summary>
    public static readonly TimeSpan LogFoldPeriod = TimeSpan.FromSeconds(10);

    private readonly ILogger _log;
    private readonly FoldedCount _lostLog = new(), _badLog = new();
    private readonly Action<FlowRecord> _sink;
    private readonly PipelineMetrics _metrics;
    private readonly HubbleTarget _target;
    private readonly IReadOnlyList<FlowFilter> _allow;
    private readonly ResumeWindow _window;
    // One decoder for every stream of this source: its intern tables are megabytes, and streams run one after
    // another (the previous call's reads have ended before the next call starts), never at once.
    private readonly FlowWireDecoder _decoder;
    private readonly Dictionary<string, ulong> _lostBySource = new(StringComparer.Ordinal);
    private readonly Lock _lostLock = new();
    // The header callback and the first message race to mark the stream connected; one of them logs it.
    private readonly Lock _connectedLock = new();
    private long _received;
    private long _duplicates;
    private long _streams;
    private long _stalls;
    private long _badMessages;
    private ulong _lostEvents;

    /// <exception cref="FormatException">The target is not one of the forms <see cref="HubbleTarget.Parse"/> accepts.</exception>
    /// <exception cref="ArgumentException">An option is invalid (for example a key file that does not exist).</exception>
    /// <param name="name">The source's name (<c>--hubble NAME=TARGET</c>); null for a plain <c>--hubble TARGET</c>.</param>
    public HubbleStreamSource(string target, Action<FlowRecord> sink, PipelineMetrics metrics, HubbleClientOptions? options = null,
        string? name = null, ILogger? logger = null, FlowRecordPool? records = null)
    {
        _log = logger ?? NullLogger.Instance;
        Name = name;
        // With a pool, the sink's pipeline must return each record (FlowWatchRuntime.Records is null when it would not).
        _decoder = new FlowWireDecoder { Origin = name ?? target, Records = records };
        Options = options ?? new HubbleClientOptions();
        Options.Validate();
        _target = HubbleTarget.Parse(target);
        if (_target.Transport == HubbleTransport.Tls) HubbleChannelFactory.CheckTlsFiles(Options.Tls);
        _sink = sink;
        _metrics = metrics;
        _allow = FlowFilters.Allow(Options.Namespaces, Options.Nodes);
        _window = new ResumeWindow(Options.ResumeOverlap, Options.ResumeMemory);
        Target = target;
    }

    public string Target { get; }

    /// <summary>The source's name, null when it has none (a plain <c>--hubble TARGET</c>).</summary>
    public string? Name { get; }

    /// <summary>What the checkpoint records this source's resume point under, and every flow it delivers carries as <see cref="FlowRecord.Origin"/>: its name, else its target.</summary>
    public string Key => Name ?? Target;
    public HubbleClientOptions Options { get; }
    public HubbleConnectionState Connection { get; private set; } = HubbleConnectionState.Connecting;

    /// <summary>Why the last stream ended (null while the first is open or none has ended).</summary>
    public string? LastError { get; private set; }

    /// <summary>Why the last undecodable response did not decode.</summary>
    public string? LastBadMessage { get; private set; }

    /// <summary>Set before <see cref="RunAsync"/>: told when the Relay's node list changes (see <see cref="HubbleStatusPoller.NodesChanged"/>).</summary>
    public Action<IReadOnlyCollection<string>, IReadOnlyCollection<string>>? NodesChanged { get; set; }

    /// <summary>GetNodes/ServerStatus results, once <see cref="RunAsync"/> started (null when polling is off).</summary>
    public HubbleStatusPoller? Status { get; private set; }

    public string State => Connection switch
    {
        HubbleConnectionState.Connected => "connected",
        HubbleConnectionState.Connecting => "connecting",
        HubbleConnectionState.Backoff => $"reconnecting ({LastError})",
        _ => "stopped",
    };

    public long Received => Interlocked.Read(ref _received);
    public long DuplicatesSkipped => Interlocked.Read(ref _duplicates);
    /// <summary>GetFlows calls opened so far (1 + reconnects).</summary>
    public long Streams => Interlocked.Read(ref _streams);
    public long Stalls => Interlocked.Read(ref _stalls);
    /// <summary>Responses that could not be decoded (skipped; the stream goes on).</summary>
    public long BadMessages => Interlocked.Read(ref _badMessages);
    public ulong LostEvents { get { lock (_lostLock) return _lostEvents; } }
    public long ResumeIdsForgotten => _window.Forgotten;

    /// <summary>Events Hubble reported lost, by Cilium's lost-event source name.</summary>
    public IReadOnlyDictionary<string, ulong> LostEventsBySource
    {
        get { lock (_lostLock) return new Dictionary<string, ulong>(_lostBySource); }
    }

    /// <summary>One line for the terminal: state, nodes and Hubble's own rate when known.</summary>
    public string Describe()
    {
        var text = $"hubble {State}";
        if (Status is { } s)
        {
            if (s.NodesByState.Count > 0)
                text += $", nodes {s.NodesByState.GetValueOrDefault("connected")}/{s.NodesByState.Values.Sum()}";
            if (s.SeenFlowsPerSecond is { } rate) text += $", hubble sees {rate:N0}/s";
        }
        return text;
    }

    /// <summary>Before <see cref="RunAsync"/>: resume from a checkpoint instead of following from now (see <see cref="ResumeWindow.StartFrom"/>).</summary>
    public void StartFrom(long newestNanos, IEnumerable<string> idsAtNewest) => _window.StartFrom(newestNanos, idsAtNewest);

    /// <summary>Before <see cref="RunAsync"/>: resume from a checkpoint's resume point and span (see <see cref="ResumeWindow.StartFrom(Pipeline.ResumePoint)"/>).</summary>
    public void StartFrom(Pipeline.ResumePoint point) => _window.StartFrom(point);

    public async Task RunAsync(CancellationToken ct)
    {
        using var channel = HubbleChannelFactory.Create(_target, Options);
        var invoker = channel.CreateCallInvoker();
        Task polling = Task.CompletedTask;
        if (Options.StatusPollInterval > TimeSpan.Zero)
        {
            Status = new HubbleStatusPoller(new Observer.ObserverClient(invoker), Target, _metrics, Options.StatusPollInterval) { NodesChanged = NodesChanged };
            polling = Status.RunAsync(ct);
        }
        var connected = _metrics.Connected.WithLabels(Target);
        // Zero series from the start, so rate() and increase() have something to work on before the first failure.
        _metrics.Reconnects.WithLabels(Target).IncTo(0);
        _metrics.BadInput.WithLabels("grpc").IncTo(0);
        var backoff = Options.InitialBackoff;
        Log.Connecting(_log, Target, _target.Transport.ToString().ToLowerInvariant());
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            var delivered = await StreamOnceAsync(invoker, connected, ct).ConfigureAwait(false);
            connected.Set(0);
            if (ct.IsCancellationRequested) break;
            if (delivered) { backoff = Options.InitialBackoff; failures = 0; }
            var wasConnected = Connection == HubbleConnectionState.Connected;
            Connection = HubbleConnectionState.Backoff;
            _metrics.Reconnects.WithLabels(Target).Inc();
            _window.Reconnecting();
            // Equal jitter: half the step fixed, half random, so that many FlowWatch replicas do not reconnect in step.
            var delay = backoff / 2 + TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * (backoff.Ticks / 2)));
            failures++;
            if (wasConnected) Log.ConnectionLost(_log, Target, LastError ?? "unknown", delay.TotalSeconds);
            else Log.ConnectFailed(_log, Target, LastError ?? "unknown", failures, delay.TotalSeconds);
            try { await Task.Delay(delay, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            backoff = TimeSpan.FromTicks(Math.Min(Options.MaxBackoff.Ticks, backoff.Ticks * 2));
        }
        Connection = HubbleConnectionState.Stopped;
        connected.Set(0);
        await polling.ConfigureAwait(false);
        FlushFolded();
        Log.Stopped(_log, Target, Received, LostEvents, BadMessages);
    }

    /// <summary>One GetFlows call until it ends, fails or stalls; true when it delivered at least one message.</summary>
    private async Task<bool> StreamOnceAsync(CallInvoker invoker, Prometheus.Gauge.Child connected, CancellationToken ct)
    {
        Connection = HubbleConnectionState.Connecting;
        var request = new GetFlowsRequest { Follow = true };
        request.Whitelist.AddRange(_allow);
        if (_window.Since is { } since) request.Since = Timestamp.FromDateTimeOffset(since);
        using var watchdog = new StreamWatchdog(Options.IdleTimeout, ct);
        var delivered = false;
        Interlocked.Increment(ref _streams);
        try
        {
            using var call = FastGetFlows.Call(invoker, request, new CallOptions(cancellationToken: watchdog.Token), _decoder);
            _ = MarkConnectedOnHeaders(call, connected);
            await foreach (var item in call.ResponseStream.ReadAllAsync(watchdog.Token).ConfigureAwait(false))
            {
                watchdog.Touch();
                if (!delivered)
                {
                    delivered = true;
                    MarkConnected(connected);
                }
                if (item is FlowRecord flow) Accept(flow);
                else if (item is LostEventsNotice lost) CountLost(lost);
                else if (item is UndecodableMessage bad) CountBad(bad.Reason);
            }
            LastError = "the server ended the stream";
        }
        catch (Exception) when (ct.IsCancellationRequested) { }
        catch (Exception) when (watchdog.Stalled)
        {
            Interlocked.Increment(ref _stalls);
            _metrics.Stalls.WithLabels(Target).Inc();
            LastError = $"no message for {Options.IdleTimeout.TotalSeconds:0.#} s";
        }
        catch (RpcException e) when (IsUndecodable(e)) { CountBad(e.Status.DebugException?.Message ?? e.Status.Detail); }
        catch (RpcException e) { LastError = HubbleErrors.Describe(e, _target); }
        catch (Exception e) { LastError = $"{e.GetType().Name}: {e.Message}"; }
        return delivered;
    }

    private async Task MarkConnectedOnHeaders(AsyncServerStreamingCall<object> call, Prometheus.Gauge.Child connected)
    {
        try
        {
            await call.ResponseHeadersAsync.ConfigureAwait(false);
            // Trailers-only error answers also "have headers"; GetStatus only succeeds once the call has ended.
            if (Connection == HubbleConnectionState.Connecting && !HasEnded(call)) MarkConnected(connected);
        }
        catch (Exception) { /* the read loop sees and reports the same failure */ }
    }

    private void MarkConnected(Prometheus.Gauge.Child connected)
    {
        lock (_connectedLock)
        {
            if (Connection != HubbleConnectionState.Connecting) return;
            Connection = HubbleConnectionState.Connected;
        }
        connected.Set(1);
        Log.Connected(_log, Target, Streams);
    }

    // grpc-dotnet reports a marshaller failure as INTERNAL "Failed to deserialize response message." with the cause attached.
    private static bool IsUndecodable(RpcException e) =>
        e.StatusCode == StatusCode.Internal &&
        (e.Status.DebugException is FormatException || e.Status.Detail.Contains("deserialize", StringComparison.OrdinalIgnoreCase));

    private static bool HasEnded(AsyncServerStreamingCall<object> call)
    {
        try { call.GetStatus(); return true; }
        catch (InvalidOperationException) { return false; }
    }

    private void Accept(FlowRecord flow)
    {
        if (!_window.Accept(flow))
        {
            Interlocked.Increment(ref _duplicates);
            _metrics.Duplicates.Inc();
            return;
        }
        Interlocked.Increment(ref _received);
        _sink(flow);
    }

    private void CountBad(string reason)
    {
        Interlocked.Increment(ref _badMessages);
        _metrics.BadInput.WithLabels("grpc").Inc();
        LastBadMessage = reason;
        if (_badLog.Add(1, out var folded)) Log.BadMessage(_log, Target, reason, folded);
    }

    private void CountLost(LostEventsNotice lost)
    {
        lock (_lostLock)
        {
            _lostBySource[lost.Source] = LostEventSourceNames.SaturatingAdd(_lostBySource.GetValueOrDefault(lost.Source), lost.Count);
            _lostEvents = LostEventSourceNames.SaturatingAdd(_lostEvents, lost.Count);
        }
        _metrics.LostEvents.WithLabels(lost.Source).Inc(lost.Count);
        if (_lostLog.Add(lost.Count, out var folded)) Log.EventsLost(_log, Target, folded, lost.Source, LostEvents);
    }

    private void FlushFolded()
    {
        if (_lostLog.TakePending() is > 0 and var lost) Log.EventsLost(_log, Target, lost, "several", LostEvents);
        if (_badLog.TakePending() is > 0 and var bad) Log.BadMessage(_log, Target, LastBadMessage ?? "unknown", bad);
    }
}
