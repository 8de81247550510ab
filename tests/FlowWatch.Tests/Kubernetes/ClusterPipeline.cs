using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Kubernetes;
using FlowWatch.Pipeline;
using FlowWatch.Tests.Detectors.Dns;
using Prometheus;
using static FlowWatch.Tests.Detectors.Handshakes.TcpFlows;

namespace FlowWatch.Tests.Kube;

/// <summary>
/// The production detector set (<see cref="DetectorSet"/>) in a <see cref="FlowPipeline"/> fed by a real cluster
/// watcher: the watcher's <see cref="ClusterEvent"/>s go in as they came, flows are enriched from the watcher's view
/// (as the watch command does) before they go in, in event time from <see cref="KubeObjects.T0"/>.
/// </summary>
internal sealed class ClusterPipeline : IDisposable
{
    public static readonly DateTimeOffset Start = new(KubeObjects.T0);

    /// <summary>A pod's security identity with no names: flows that carry only the IP, as from a node that does not host the pod.</summary>
    public static readonly FlowEndpoint IpOnlyPod = new(34567, "", "", "", "");

    /// <summary>Cilium's POLICY_DENIED drop reason.</summary>
    public const int PolicyDenied = 133;

    private readonly KubeHarness _kube;
    private readonly FlowEnricher _enricher;

    public ClusterPipeline(KubeHarness kube, DetectorSettings? settings = null)
    {
        _kube = kube;
        _enricher = new FlowEnricher(kube.View);
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Pipeline = new FlowPipeline(DetectorSet.Create(settings ?? DetectorSettings.Default), Prometheus.Metrics.WithCustomRegistry(Registry));
        Pipeline.Findings.Subscribe(Findings.Add);
        Pipeline.Start(Start);
    }

    public CollectorRegistry Registry { get; }
    public FlowPipeline Pipeline { get; }
    public List<Finding> Findings { get; } = [];
    public long Enriched => _enricher.Enriched;

    public T Detector<T>() => Pipeline.Detectors.OfType<T>().Single();

    /// <summary>Hands every cluster event the watcher has published so far to the pipeline.</summary>
    public int Drain()
    {
        var n = 0;
        while (_kube.Events.TryDequeue(out var e)) { Pipeline.Apply(e); n++; }
        return n;
    }

    public static DateTimeOffset At(double seconds) => Start.AddSeconds(seconds);

    public void Push(FlowRecord flow) => Pipeline.Process(_enricher.Enrich(flow));

    public void AdvanceTo(double seconds) => Pipeline.AdvanceTo(At(seconds));

    public static Side PodAt(string ip, ushort port) => new(IpOnlyPod, IpAddr.Parse(ip), port);

    /// <summary>SYN in, SYN-ACK out, ACK and data in.</summary>
    public void Completed(double t, Side client, Side server)
    {
        Push(FromClient(At(t), client, server, Syn));
        Push(FromServer(At(t + 0.001), client, server, SynAck));
        Push(FromClient(At(t + 0.002), client, server, Ack));
        Push(FromClient(At(t + 0.003), client, server, PshAck));
    }

    /// <summary>SYN in, RST out: nothing listens.</summary>
    public void Refused(double t, Side client, Side server)
    {
        Push(FromClient(At(t), client, server, Syn));
        Push(FromServer(At(t + 0.001), client, server, RstAck));
    }

    /// <summary>The SYN dropped by policy before it reaches the pod.</summary>
    public void SynDropped(double t, Side client, Side server) =>
        Push(FromClient(At(t), client, server, Syn, verdict: Verdict.Dropped, dropReason: PolicyDenied));

    /// <summary>The SYN reaches the pod and is retransmitted; the pod never answers.</summary>
    public void Unanswered(double t, Side client, Side server)
    {
        foreach (var retry in new[] { 0.0, 1.0, 3.0 }) Push(FromClient(At(t + retry), client, server, Syn));
    }

    /// <summary>SYN in, SYN-ACK out (a reply), the same SYN again after 1 s and 3 s (each answered), never an ACK.</summary>
    public void ReplyLost(double t, Side client, Side server)
    {
        foreach (var retry in new[] { 0.0, 1.0, 3.0 })
        {
            Push(FromClient(At(t + retry), client, server, Syn));
            Push(FromServer(At(t + retry + 0.001), client, server, SynAck));
        }
    }

    public double Metric(string name, params (string, string)[] labels) => MetricText.Value(Registry, name, labels) ?? double.NaN;

    public void Dispose() => Pipeline.Dispose();
}
