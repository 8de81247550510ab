using FlowWatch.Clusters;
using FlowWatch.Findings;
using FlowWatch.Hubble.Proto.Observer;
using Grpc.Core;

namespace FlowWatch.Hubble;

/// <summary>The default of <c>--cluster</c>: the <c>cluster_name</c> Cilium puts on the endpoints of Hubble's most recent
/// flows (Cilium's own <c>cluster.name</c>, "default" unless set), asked once at start.</summary>
/// <remarks>
/// One <c>GetFlows</c> of the last <see cref="Flows"/> flows (no follow) per source, in order, until one answers, all
/// within a deadline: a Hubble that is down at start costs at most that long, and the name then falls back to
/// <see cref="ClusterName.Default"/>, said in <see cref="Result.Why"/>. In a ClusterMesh the watched cluster is the name
/// the most flows carry (<see cref="LocalClusterVote"/>).
/// </remarks>
public static class ClusterDiscovery
{
    /// <summary>Recent flows asked for.</summary>
    public const int Flows = 256;

    /// <summary>The name chosen and where it came from, for the start-up line.</summary>
    public sealed record Result(string Name, string Why);

    public static async Task<Result> DiscoverAsync(IReadOnlyList<HubbleSourceSpec> sources, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        var problems = new List<string>();
        foreach (var source in sources)
        {
            var vote = new LocalClusterVote();
            var flows = 0;
            try
            {
                using var channel = HubbleChannelFactory.Create(HubbleTarget.Parse(source.Target), source.Options);
                var client = new Observer.ObserverClient(channel);
                using var call = client.GetFlows(new GetFlowsRequest { Number = Flows }, cancellationToken: deadline.Token);
                while (await call.ResponseStream.MoveNext(deadline.Token).ConfigureAwait(false))
                {
                    if (call.ResponseStream.Current.Flow is not { } flow) continue;
                    flows++;
                    vote.Count(flow.Source?.ClusterName ?? "", flow.Destination?.ClusterName ?? "");
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                problems.Add(deadline.IsCancellationRequested
                    ? $"{source.Key} did not answer within {timeout.TotalSeconds:0.#} s"
                    : $"{source.Key}: {(e is RpcException r ? r.Status.Detail : e.Message)}");
                if (deadline.IsCancellationRequested) break;
                continue;
            }
            var tally = vote.Tally();
            if (tally.Count == 0)
            {
                problems.Add(flows == 0 ? $"{source.Key} has no flows yet" : $"{source.Key}'s {flows} recent flows name no cluster");
                continue;
            }
            var (name, carried) = tally[0];
            if (ClusterName.Problem(name) is { } problem)
            {
                problems.Add($"{source.Key}'s flows name cluster '{name}', which cannot be used: {problem}");
                continue;
            }
            return new Result(name, $"the cluster_name on the endpoints of {carried} of {source.Key}'s {flows} most recent flows");
        }
        return new Result(ClusterName.Default, $"Hubble did not say ({string.Join("; ", problems)})");
    }
}
