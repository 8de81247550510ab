using FlowWatch.Findings;

namespace FlowWatch.Cli.CommandLine;

/// <summary><c>--cluster NAME</c> of watch, demo and replay: the cluster every metric, finding and answer names.</summary>
public static class ClusterFlag
{
    public static readonly OptionSpec Option = new("cluster",
        "Name of the cluster watched: the 'cluster' label of every metric and the cluster of every finding, API answer, Event and report. " +
        "Give each FlowWatch of a fleet its own. Default for watch: the cluster_name Cilium puts on the endpoints of Hubble's recent flows " +
        "(Cilium's cluster.name), asked at start, else 'default'; for demo and replay: 'default'.",
        "NAME", ClusterName.Default);

    /// <summary>How long watch asks Hubble for its cluster's name at start when --cluster is not given.</summary>
    public static readonly TimeSpan DiscoveryTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The name given (or the default), checked now.</summary>
    public static string Get(ParsedArgs args)
    {
        var name = args.Get("cluster") ?? ClusterName.Default;
        return ClusterName.Problem(name) is { } problem
            ? throw new UsageException($"option '--cluster': {problem}; give a name such as prod-eu-1.")
            : name;
    }
}
