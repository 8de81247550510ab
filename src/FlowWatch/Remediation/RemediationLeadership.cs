using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace FlowWatch.Remediation;

/// <summary>Where the remediation Lease lives and how long a leader holds it.</summary>
public sealed record LeadershipOptions
{
    /// <summary>Namespace of the Lease; by default the pod's own (POD_NAMESPACE, else the service account's), else "default".</summary>
    public string Namespace { get; init; } = DefaultNamespace();

    public string LeaseName { get; init; } = "flowwatch-remediation";

    /// <summary>This replica's name on the Lease: the pod name (HOSTNAME) plus a random suffix, so a restarted pod is a new holder.</summary>
    public string Identity { get; init; } = $"{Environment.GetEnvironmentVariable("HOSTNAME") ?? Environment.MachineName}-{Guid.NewGuid():N}"[..^24];

    /// <summary>How long a Lease holds without renewal; a new leader takes over at most this long after the old one stops (client-go's default, 15 s).</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    private static string DefaultNamespace()
    {
        if (Environment.GetEnvironmentVariable("POD_NAMESPACE") is { Length: > 0 } ns) return ns;
        const string path = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
        try { return File.Exists(path) ? File.ReadAllText(path).Trim() : "default"; }
        catch (IOException) { return "default"; }
    }
}

/// <summary>Leader election for remediation on a coordination.k8s.io/v1 Lease, through KubernetesClient's <see cref="LeaderElector"/>: among replicas, only the holder evicts.</summary>
/// <remarks>Detectors, metrics and Events run on every replica; only <see cref="UnmanagedPodRemediator"/> asks <see cref="PausedReason"/>.</remarks>
public sealed class RemediationLeadership
{
    private readonly LeaderElector _elector;
    private readonly ILogger _log;
    private readonly Gauge _leader;
    private volatile bool _isLeader;
    private volatile string? _holder;

    public RemediationLeadership(IKubernetes client, LeadershipOptions options, IMetricFactory metrics, ILogger log)
    {
        Options = options;
        _log = log;
        _leader = metrics.CreateGauge("flowwatch_remediation_leader",
            "1 while this replica holds the remediation Lease (only the leader evicts), 0 while another does or none is known.");
        _leader.Set(0);
        _elector = new LeaderElector(new LeaderElectionConfig(new LeaseLock(client, options.Namespace, options.LeaseName, options.Identity))
        {
            LeaseDuration = options.LeaseDuration, RenewDeadline = options.RenewDeadline, RetryPeriod = options.RetryPeriod,
        });
        _elector.OnStartedLeading += () =>
        {
            _isLeader = true;
            _leader.Set(1);
            _log.LogInformation("remediation: this replica ({Identity}) now holds Lease {Namespace}/{Lease}; remediating", options.Identity, options.Namespace, options.LeaseName);
        };
        _elector.OnStoppedLeading += () =>
        {
            _isLeader = false;
            _leader.Set(0);
            _log.LogWarning("remediation: this replica ({Identity}) lost Lease {Namespace}/{Lease}; remediation paused", options.Identity, options.Namespace, options.LeaseName);
        };
        _elector.OnNewLeader += holder => { _holder = holder; _log.LogInformation("remediation: Lease {Lease} held by {Holder}", options.LeaseName, holder); };
        _elector.OnError += e => _log.LogDebug("remediation: Lease {Lease}: {Error}", options.LeaseName, e.Message);
    }

    public LeadershipOptions Options { get; }

    public bool IsLeader => _isLeader;

    /// <summary>Why this replica does not remediate now (another holds the Lease, or none does yet); null while it is the leader.</summary>
    public string? PausedReason() => _isLeader ? null
        : _holder is { Length: > 0 } h && h != Options.Identity ? $"remediation paused: replica {h} holds Lease {Options.Namespace}/{Options.LeaseName}"
        : $"remediation paused: waiting for Lease {Options.Namespace}/{Options.LeaseName}";

    /// <summary>This replica's part in the election, for /readyz's detail (information only: a follower is as ready as the leader).</summary>
    public string Describe() => _isLeader ? $"leadership: leader, holding Lease {Options.Namespace}/{Options.LeaseName}"
        : _holder is { Length: > 0 } h && h != Options.Identity ? $"leadership: follower, replica {h} holds Lease {Options.Namespace}/{Options.LeaseName}; remediation paused here"
        : $"leadership: follower, waiting for Lease {Options.Namespace}/{Options.LeaseName}; remediation paused here";

    /// <summary>Campaigns, holds, and campaigns again after a loss, until cancelled (a stopped replica's Lease then expires).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try { await _elector.RunAndTryToHoldLeadershipForeverAsync(ct).ConfigureAwait(false); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        finally { _isLeader = false; _leader.Set(0); }
    }
}
