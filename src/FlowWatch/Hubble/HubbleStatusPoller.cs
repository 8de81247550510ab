using System.Diagnostics;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Hubble.Proto.Relay;
using FlowWatch.Metrics;
using Grpc.Core;

namespace FlowWatch.Hubble;

/// <summary>Asks Hubble every few seconds for ServerStatus and GetNodes: the nodes it sees and its own flow rate.</summary>
/// <remarks>
/// An agent (not a Relay) answers GetNodes with UNIMPLEMENTED; then node counts come from ServerStatus alone.
/// A failed poll is remembered in <see cref="LastError"/> and retried at the next tick; it never ends the loop.
/// </remarks>
public sealed class HubbleStatusPoller(Observer.ObserverClient client, string target, PipelineMetrics metrics, TimeSpan every)
{
    private static readonly string[] States = ["connected", "unavailable", "gone", "error", "unknown"];
    private bool _noGetNodes;
    private HashSet<string>? _connected;
    private (ulong Seen, long Ticks)? _last;

    /// <summary>
    /// Called when GetNodes' answer changes: the nodes newly connected (all of them at the first answer) and the nodes that were
    /// connected and no longer are (or are gone from the list). Never called for an agent, which has no GetNodes.
    /// </summary>
    public Action<IReadOnlyCollection<string>, IReadOnlyCollection<string>>? NodesChanged { get; init; }

    /// <summary>Nodes by state ("connected", "unavailable", ...), from the last successful poll.</summary>
    public IReadOnlyDictionary<string, int> NodesByState { get; private set; } = new Dictionary<string, int>();

    /// <summary>Hubble's flows per second (seen_flows delta over time) at the last poll; null until two polls succeeded.</summary>
    public double? SeenFlowsPerSecond { get; private set; }

    public ulong SeenFlows { get; private set; }
    public string? Version { get; private set; }
    public string? LastError { get; private set; }
    public long Polls { get; private set; }

    public async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(every);
        try
        {
            do await PollOnceAsync(ct).ConfigureAwait(false);
            while (await Tick(timer, ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    public async Task PollOnceAsync(CancellationToken ct)
    {
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(TimeSpan.FromSeconds(10));
            var status = await client.ServerStatusAsync(new ServerStatusRequest(), cancellationToken: deadline.Token).ConfigureAwait(false);
            var now = Stopwatch.GetTimestamp();
            if (_last is { } last && status.SeenFlows >= last.Seen)
            {
                var seconds = Stopwatch.GetElapsedTime(last.Ticks, now).TotalSeconds;
                if (seconds > 0) SeenFlowsPerSecond = (status.SeenFlows - last.Seen) / seconds;
            }
            _last = (status.SeenFlows, now);
            SeenFlows = status.SeenFlows;
            Version = status.Version;
            var nodes = await NodesAsync(status, deadline.Token).ConfigureAwait(false);
            NodesByState = nodes;
            foreach (var state in States) metrics.HubbleNodes.WithLabels(target, state).Set(nodes.GetValueOrDefault(state));
            metrics.HubbleFlowRate.WithLabels(target).Set(status.SeenFlows);
            if (SeenFlowsPerSecond is { } rate) metrics.HubbleSeenFlowsRate.WithLabels(target).Set(rate);
            LastError = null;
            Polls++;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
        catch (Exception e) when (e is RpcException or OperationCanceledException or IOException or HttpRequestException)
        {
            LastError = e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : e.Message;
            // A rate from before the failure describes a stream that may be gone: say "unknown", not the old figure.
            SeenFlowsPerSecond = null;
            _last = null;
            metrics.HubbleSeenFlowsRate.WithLabels(target).Set(double.NaN);
        }
    }

    private async Task<Dictionary<string, int>> NodesAsync(ServerStatusResponse status, CancellationToken ct)
    {
        if (!_noGetNodes)
        {
            try
            {
                var reply = await client.GetNodesAsync(new GetNodesRequest(), cancellationToken: ct).ConfigureAwait(false);
                ReportChanges(reply.Nodes);
                return reply.Nodes.GroupBy(n => StateName(n.State)).ToDictionary(g => g.Key, g => g.Count());
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented) { _noGetNodes = true; }
        }
        return new Dictionary<string, int>
        {
            ["connected"] = (int)(status.NumConnectedNodes ?? 1),
            ["unavailable"] = (int)(status.NumUnavailableNodes ?? 0),
        };
    }

    private void ReportChanges(IEnumerable<Node> nodes)
    {
        if (NodesChanged is not { } report) return;
        var connected = nodes.Where(n => n.State == NodeState.NodeConnected && n.Name.Length > 0).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var joined = connected.Where(n => _connected is null || !_connected.Contains(n)).ToList();
        var left = _connected?.Where(n => !connected.Contains(n)).ToList() ?? [];
        _connected = connected;
        if (joined.Count > 0 || left.Count > 0) report(joined, left);
    }

    private static string StateName(NodeState state) => state switch
    {
        NodeState.NodeConnected => "connected",
        NodeState.NodeUnavailable => "unavailable",
        NodeState.NodeGone => "gone",
        NodeState.NodeError => "error",
        _ => "unknown",
    };

    private static async Task<bool> Tick(PeriodicTimer timer, CancellationToken ct)
    {
        try { return await timer.WaitForNextTickAsync(ct).ConfigureAwait(false); }
        catch (OperationCanceledException) { return false; }
    }
}
