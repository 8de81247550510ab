using System.Reactive.Concurrency;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using Prometheus;

namespace FlowWatch.Detectors;

/// <summary>What every detector is given: the flows, the cluster state, event time and a metric factory.</summary>
/// <param name="Flows">Flow records in arrival order, delivered on the pipeline's single thread.</param>
/// <param name="Cluster">Cluster state changes, on the same thread; may never produce anything.</param>
/// <param name="Scheduler">Event time: advanced to each flow's timestamp before it is delivered.</param>
public sealed record DetectorContext(
    IObservable<FlowRecord> Flows,
    IObservable<ClusterEvent> Cluster,
    IScheduler Scheduler,
    IMetricFactory Metrics)
{
    private readonly DetectorContext? _root;

    /// <summary>The pipeline's own context, before <see cref="DetectorIsolation"/> gave each detector guarded streams:
    /// parts shared by several detectors (the handshake classifier) check that they serve one pipeline by it.</summary>
    public DetectorContext Root { get => _root ?? this; init => _root = value.Root; }
}

/// <summary>A detector: an Rx pipeline from flows (and cluster state) to findings, in event time.</summary>
/// <remarks>
/// <see cref="Attach"/> is called once; the detector subscribes to the context's streams and returns
/// its findings. The pipeline thread is the only writer of detector state; anything a detector
/// exposes to the API must be safe to read from other threads.
/// </remarks>
public interface IDetector : IDisposable
{
    /// <summary>Short name used in logs and reports ("dns", "duplicate-ip", ...).</summary>
    string Name { get; }

    IObservable<Finding> Attach(DetectorContext context);

    /// <summary>True when the detector may hold a flow record (not just values read from it) after its observer returns,
    /// or hands the flows to an operator that does (Buffer, Delay, ObserveOn).</summary>
    /// <remarks>The safe default, as <see cref="Pipeline.IFlowSink.KeepsRecords"/>: while any detector says so, the
    /// pipeline returns no record to its pool.</remarks>
    bool KeepsRecords => true;
}
