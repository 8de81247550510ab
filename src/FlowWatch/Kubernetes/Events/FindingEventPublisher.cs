using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlowWatch.Findings;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace FlowWatch.Kubernetes.Events;

/// <summary>Writes a Kubernetes Event on the pod (or service) a finding concerns, so <c>kubectl describe</c> shows it; rate limited and de-duplicated.</summary>
/// <remarks>
/// Findings arrive on the pipeline thread and go into a bounded queue (oldest shed, counted); one loop writes them.
/// The first time a finding opens, an Event is created (name derived from the finding id); while it stays open it is
/// not written again for <see cref="FindingEventOptions.RepeatEvery"/>, then its count is patched, as kubectl's own
/// event correlation does. Counted in <c>flowwatch_kube_events_total{reason,result}</c>.
/// </remarks>
public sealed class FindingEventPublisher
{
    private readonly IKubernetes _client;
    private readonly ClusterView? _view;
    private readonly FindingEventOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly Counter _results;
    private readonly Channel<Finding> _queue;
    private readonly Dictionary<string, Posted> _posted = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _order = new();
    private double _tokens;
    private DateTimeOffset _refilled;

    private sealed class Posted(string name, string ns, LinkedListNode<string> node)
    {
        public readonly string Name = name;
        public readonly string Namespace = ns;
        public readonly LinkedListNode<string> Node = node;
        public int Count = 1;
        public DateTimeOffset Last;
        /// <summary>Created by another FlowWatch replica (409 on create): left to it.</summary>
        public bool Foreign;
    }

    public FindingEventPublisher(IKubernetes client, ClusterView? view, FindingEventOptions options, IMetricFactory metrics, ILogger log, TimeProvider? time = null)
    {
        _client = client;
        _view = view;
        _options = options.Validate();
        _log = log;
        _time = time ?? TimeProvider.System;
        _tokens = options.Burst;
        _refilled = _time.GetUtcNow();
        _results = metrics.CreateCounter("flowwatch_kube_events_total",
            "Kubernetes Events for findings, by reason and result (created, patched, deduplicated, rate_limited, no_object, failed, shed).",
            new CounterConfiguration { LabelNames = ["reason", "result"] });
        _queue = Channel.CreateBounded<Finding>(new BoundedChannelOptions(options.QueueCapacity)
            { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            f => _results.WithLabels(Reason(f.Kind), "shed").Inc());
    }

    /// <summary>Annotation on every Event naming the cluster of its finding.</summary>
    public const string ClusterAnnotation = "flowwatch.io/cluster";

    /// <summary>Annotation on every Event naming its finding's id (as in /api/v1/findings).</summary>
    public const string FindingAnnotation = "flowwatch.io/finding";

    public static string Reason(FindingKind kind) => Detectors.Registry.DetectorRegistry.Kind(kind)?.EventReason ?? "FlowWatch" + kind;

    /// <summary>Queues every opening or changing finding; never blocks the caller.</summary>
    public IDisposable Follow(IObservable<Finding> findings) =>
        findings.Subscribe(f => { if (f.State == FindingState.Open) _queue.Writer.TryWrite(f); });

    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var f in _queue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
                await PublishAsync(f, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    /// <summary>Writes (or skips) the Event for one finding; returns the result it was counted under.</summary>
    public async Task<string> PublishAsync(Finding f, CancellationToken ct)
    {
        var reason = Reason(f.Kind);
        var result = await WriteAsync(f, reason, ct).ConfigureAwait(false);
        _results.WithLabels(reason, result).Inc();
        return result;
    }

    private async Task<string> WriteAsync(Finding f, string reason, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        if (_posted.TryGetValue(f.Id, out var known))
        {
            // Another replica (a node shard of the same cluster) created this Event: it keeps the count, so the finding
            // is one Event with one writer however many shards see its evidence.
            if (known.Foreign || now - known.Last < _options.RepeatEvery) return "deduplicated";
            if (!TryTakeToken(now)) return "rate_limited";
            var patch = new JsonObject
            {
                ["count"] = known.Count + 1, ["lastTimestamp"] = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ"), ["message"] = Message(f),
            };
            try
            {
                await _client.CoreV1.PatchNamespacedEventAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
                    known.Name, known.Namespace, cancellationToken: ct).ConfigureAwait(false);
                known.Count++;
                known.Last = now;
                Touch(known);
                return "patched";
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _log.LogWarning("events: patching {Event} failed: {Error}", known.Name, e.Message);
                Forget(f.Id);
                return "failed";
            }
        }
        var target = Target(f);
        if (target is null) return "no_object";
        if (!TryTakeToken(now)) return "rate_limited";
        var (kind, ns, name) = target.Value;
        var ev = new Corev1Event
        {
            ApiVersion = "v1", Kind = "Event",
            // The cluster as an annotation, not in the message: an Event lives in its own cluster, but one read from a
            // fleet's central event store (an exporter) must still say where it came from.
            Metadata = new V1ObjectMeta
            {
                Name = EventName(name, f.Id), NamespaceProperty = ns,
                Annotations = new Dictionary<string, string> { [ClusterAnnotation] = f.Cluster, [FindingAnnotation] = f.Id },
            },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = "v1", Kind = kind, Name = name, NamespaceProperty = ns,
                Uid = kind == "Pod" ? _view?.PodUid(ns, name) : null,
            },
            Reason = reason,
            Message = Message(f),
            Type = f.Severity == Severity.Info ? "Normal" : "Warning",
            Source = new V1EventSource { Component = _options.Component },
            ReportingComponent = _options.Component,
            ReportingInstance = Environment.MachineName,
            FirstTimestamp = now.UtcDateTime,
            LastTimestamp = now.UtcDateTime,
            Count = 1,
        };
        try
        {
            await _client.CoreV1.CreateNamespacedEventAsync(ev, ns, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // The name is derived from the finding id alone, so a replica that saw the same finding first holds it.
            Remember(f.Id, ev.Metadata.Name, ns, now).Foreign = true;
            return "deduplicated";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.LogWarning("events: creating {Reason} on {Kind} {Namespace}/{Name} failed: {Error}", reason, kind, ns, name, e.Message);
            return "failed";
        }
        Remember(f.Id, ev.Metadata.Name, ns, now);
        return "created";
    }

    /// <summary>The object the Event goes on: the pod, else the service, else a running pod of the workload.</summary>
    private (string Kind, string Namespace, string Name)? Target(Finding f)
    {
        var s = f.Subject;
        if (s.Namespace.Length == 0) return null;
        if (s.Pod.Length != 0) return ("Pod", s.Namespace, s.Pod);
        if (s.Service.Length != 0) return ("Service", s.Namespace, s.Service);
        if (s.Workload.Length != 0 && _view?.AnyPodOf(s.Namespace, s.Workload) is { } pod) return ("Pod", s.Namespace, pod);
        return null;
    }

    private static string Message(Finding f) => f.Summary.Length <= 1000 ? f.Summary : f.Summary[..1000] + "…";

    /// <summary>Stable per finding, so a repeat patches the same Event: "&lt;object&gt;.fw&lt;hash&gt;".</summary>
    public static string EventName(string objectName, string findingId)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(findingId)))[..12];
        var head = objectName.Length > 200 ? objectName[..200] : objectName;
        return $"{head}.fw{hash}";
    }

    private bool TryTakeToken(DateTimeOffset now)
    {
        _tokens = Math.Min(_options.Burst, _tokens + (now - _refilled).TotalMinutes * _options.PerMinute);
        _refilled = now;
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }

    private Posted Remember(string id, string name, string ns, DateTimeOffset now)
    {
        var node = _order.AddLast(id);
        var posted = _posted[id] = new Posted(name, ns, node) { Last = now };
        while (_posted.Count > _options.MaxTracked && _order.First is { } oldest) Forget(oldest.Value);
        return posted;
    }

    private void Touch(Posted p)
    {
        _order.Remove(p.Node);
        _order.AddLast(p.Node);
    }

    private void Forget(string id)
    {
        if (_posted.Remove(id, out var p)) _order.Remove(p.Node);
    }
}
