using System.Net;
using System.Reactive.Linq;
using FlowWatch.Detectors.DuplicateIp;
using FlowWatch.Findings;
using FlowWatch.Kubernetes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Remediation;

/// <summary>The production fix for duplicate pod IPs: evicts the pod Cilium does not manage, through the Eviction API, under strict limits.</summary>
/// <remarks>
/// Candidates come from the duplicate-IP detector (a conflict's delete candidate, or an unmanaged pod with no
/// CiliumEndpoint) and are checked against FlowWatch's own cluster view before anything happens: never in an
/// excluded namespace, never while the view is stale or CiliumEndpoints are not watched, never a pod with a
/// CiliumEndpoint, at most <see cref="RemediationOptions.MaxPerInterval"/> per interval. Evict mode re-reads the
/// pod and evicts with a UID precondition, so a recreated pod of the same name is never hit. Each decision is
/// logged and counted once per pod and outcome.
/// </remarks>
public sealed class UnmanagedPodRemediator
{
    private readonly RemediationOptions _options;
    private readonly DuplicateIpDetector _detector;
    private readonly ClusterView _view;
    private readonly Func<string?> _staleReason;
    private readonly Func<bool> _endpointsWatched;
    private readonly IKubernetes? _client;
    private readonly RemediationMetrics _metrics;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly Func<string?> _paused;
    private string? _lastPaused;
    private readonly Queue<DateTimeOffset> _recentActions = new();
    private readonly Dictionary<string, string> _lastOutcome = new(StringComparer.Ordinal);
    private readonly Queue<string> _rememberOrder = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly SemaphoreSlim _evaluating = new(1, 1);

    public UnmanagedPodRemediator(RemediationOptions options, DuplicateIpDetector detector, ClusterView view,
        Func<string?> staleReason, Func<bool> endpointsWatched, IKubernetes? client, RemediationMetrics metrics,
        ILogger log, TimeProvider? time = null, Func<string?>? paused = null)
    {
        _paused = paused ?? (() => null);
        _options = options.Validate();
        if (options.Mode == RemediationMode.Evict && client is null) throw new ArgumentException("remediation: evict mode needs a Kubernetes client");
        _detector = detector;
        _view = view;
        _staleReason = staleReason;
        _endpointsWatched = endpointsWatched;
        _client = client;
        _metrics = metrics;
        _log = log;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Every decision counted so far, newest last (bounded by <see cref="RemediationOptions.MaxRemembered"/>).</summary>
    public List<RemediationDecision> Decisions { get; } = [];

    /// <summary>Wakes the loop when a duplicate-IP or unmanaged-pod finding opens.</summary>
    public IDisposable Follow(IObservable<Finding> findings) =>
        findings.Where(f => f.State == FindingState.Open && f.Kind is FindingKind.DuplicateIp or FindingKind.UnmanagedPod)
            .Subscribe(_ => { if (_wake.CurrentCount == 0) try { _wake.Release(); } catch (SemaphoreFullException) { } });

    public async Task RunAsync(CancellationToken ct)
    {
        if (_options.Mode == RemediationMode.Off) return;
        _log.LogInformation("remediation: {Mode}, excluding {Excluded}, at most {Max} per {Interval}",
            _options.Mode, string.Join(",", _options.ExcludedNamespaces), _options.MaxPerInterval, _options.Interval);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await EvaluateAsync(ct).ConfigureAwait(false);
                await _wake.WaitAsync(_options.EvaluateEvery, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (Exception e) { _log.LogWarning("remediation: evaluation failed: {Error}", e.Message); }
        }
    }

    /// <summary>Looks at every current candidate once; returns the decisions newly counted.</summary>
    public async Task<IReadOnlyList<RemediationDecision>> EvaluateAsync(CancellationToken ct)
    {
        if (_options.Mode == RemediationMode.Off) return [];
        // Not the leader among replicas: nothing is decided or counted here; the leader does it.
        var paused = _paused();
        if (paused != _lastPaused && paused is not null) _log.LogInformation("{Reason}", paused);
        _lastPaused = paused;
        if (paused is not null) return [];
        await _evaluating.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var counted = new List<RemediationDecision>();
            foreach (var (pod, why) in Candidates())
            {
                // Acted on once (evicted, or reported in dry-run): an eviction takes time to show; never repeat it.
                if (_lastOutcome.TryGetValue(KeyOf(pod.Namespace, pod.Name), out var last) &&
                    (last.StartsWith("evict/", StringComparison.Ordinal) || last.StartsWith("dry_run/", StringComparison.Ordinal))) continue;
                var d = await DecideAsync(pod, why, ct).ConfigureAwait(false);
                if (Count(d)) counted.Add(d);
            }
            return counted;
        }
        finally { _evaluating.Release(); }
    }

    private List<(ConflictPod Pod, string Why)> Candidates()
    {
        var result = new List<(ConflictPod, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in _detector.Conflicts)
            if (c.DeleteCandidate is { } d && seen.Add(d.Display)) result.Add((d, "duplicate_ip"));
        foreach (var u in _detector.UnmanagedEndpoints)
            if (u.NoCiliumEndpoint && u.Pod is { } p && seen.Add(p.Display)) result.Add((p, "unmanaged_pod"));
        return result;
    }

    private async Task<RemediationDecision> DecideAsync(ConflictPod candidate, string why, CancellationToken ct)
    {
        RemediationDecision Refuse(string reason, string detail) => new(candidate.Namespace, candidate.Name, "refuse", reason, detail);
        if (_options.ExcludedNamespaces.Contains(candidate.Namespace, StringComparer.Ordinal))
            return Refuse("excluded_namespace", $"namespace {candidate.Namespace} is excluded");
        if (_staleReason() is { } stale) return Refuse("view_stale", stale);
        if (!_endpointsWatched()) return Refuse("ciliumendpoints_unknown", "CiliumEndpoints are not being watched, so 'unmanaged' cannot be confirmed");
        var pod = _view.Pod(candidate.Namespace, candidate.Name);
        if (pod is null || !pod.Running) return Refuse("pod_not_running", "the pod is not running in FlowWatch's view");
        if (pod.HostNetwork) return Refuse("host_network", "host-network pods share the node's IP");
        if (_view.HasCiliumEndpoint(candidate.Namespace, candidate.Name))
            return Refuse("managed_by_cilium", "the pod has a CiliumEndpoint");
        if (!TryTakeBudget()) return Refuse("rate_limited", $"{_options.MaxPerInterval} already acted on within {_options.Interval}");
        var detail = $"{why.Replace('_', ' ')} on {pod.Ip} (node {pod.Node}); no CiliumEndpoint";
        if (_options.Mode == RemediationMode.DryRun) return new(candidate.Namespace, candidate.Name, "dry_run", why, detail);
        return await EvictAsync(candidate, why, detail, ct).ConfigureAwait(false);
    }

    private async Task<RemediationDecision> EvictAsync(ConflictPod candidate, string why, string detail, CancellationToken ct)
    {
        RemediationDecision Refuse(string reason, string text) => new(candidate.Namespace, candidate.Name, "refuse", reason, text);
        V1Pod fresh;
        try { fresh = await _client!.CoreV1.ReadNamespacedPodAsync(candidate.Name, candidate.Namespace, cancellationToken: ct).ConfigureAwait(false); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { ReturnBudget(); return Refuse("pod_gone", "the pod no longer exists"); }
        var uid = _view.PodUid(candidate.Namespace, candidate.Name);
        if (fresh.Metadata?.Uid != uid) { ReturnBudget(); return Refuse("pod_replaced", "the pod was recreated since FlowWatch judged it"); }
        var eviction = new V1Eviction
        {
            ApiVersion = "policy/v1", Kind = "Eviction",
            Metadata = new V1ObjectMeta { Name = candidate.Name, NamespaceProperty = candidate.Namespace },
            DeleteOptions = new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = uid } },
        };
        try
        {
            await _client!.CoreV1.CreateNamespacedPodEvictionAsync(eviction, candidate.Name, candidate.Namespace, cancellationToken: ct).ConfigureAwait(false);
            return new(candidate.Namespace, candidate.Name, "evict", why, detail);
        }
        catch (HttpOperationException e) when ((int)e.Response.StatusCode == 429)
        {
            ReturnBudget();
            return Refuse("disruption_budget", "a PodDisruptionBudget does not allow the eviction now");
        }
        catch (HttpOperationException e)
        {
            ReturnBudget();
            return Refuse("api_error", $"eviction failed: {(int)e.Response.StatusCode}");
        }
    }

    private bool TryTakeBudget()
    {
        var now = _time.GetUtcNow();
        while (_recentActions.Count > 0 && now - _recentActions.Peek() >= _options.Interval) _recentActions.Dequeue();
        if (_recentActions.Count >= _options.MaxPerInterval) return false;
        _recentActions.Enqueue(now);
        return true;
    }

    private void ReturnBudget()
    {
        // Only the newest entry is ours; the queue is FIFO, so rebuild without it.
        if (_recentActions.Count == 0) return;
        var keep = _recentActions.ToArray()[..^1];
        _recentActions.Clear();
        foreach (var t in keep) _recentActions.Enqueue(t);
    }

    private string KeyOf(string ns, string pod) => $"{ns}/{pod}/{_view.PodUid(ns, pod)}";

    /// <summary>Counts and logs a decision once per pod and outcome; returns whether it was new.</summary>
    private bool Count(RemediationDecision d)
    {
        var key = KeyOf(d.Namespace, d.Pod);
        var outcome = $"{d.Action}/{d.Reason}";
        if (_lastOutcome.TryGetValue(key, out var last) && last == outcome) return false;
        if (!_lastOutcome.ContainsKey(key))
        {
            _rememberOrder.Enqueue(key);
            while (_rememberOrder.Count > _options.MaxRemembered) _lastOutcome.Remove(_rememberOrder.Dequeue());
        }
        _lastOutcome[key] = outcome;
        _metrics.Decisions.WithLabels(d.Action, d.Reason).Inc();
        Decisions.Add(d);
        if (Decisions.Count > _options.MaxRemembered) Decisions.RemoveAt(0);
        if (d.Action == "refuse")
            _log.LogInformation("remediation: not evicting {Namespace}/{Pod}: {Reason} ({Detail})", d.Namespace, d.Pod, d.Reason, d.Detail);
        else
            _log.LogWarning("remediation: {Action} {Namespace}/{Pod}: {Detail}", d.Action == "evict" ? "evicted" : "would evict (dry-run)", d.Namespace, d.Pod, d.Detail);
        return true;
    }
}
