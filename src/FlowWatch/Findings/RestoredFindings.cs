using System.Reactive.Linq;
using FlowWatch.Detectors;

namespace FlowWatch.Findings;

/// <summary>Resolves findings restored from a checkpoint that no detector raises again within that detector's quiet period.</summary>
/// <remarks>
/// Runs as one more detector so that its timers live in event time: each restored finding gets one timer, a quiet period
/// after event time starts. A finding its detector raised again in the meantime belongs to that detector and is left alone.
/// </remarks>
/// <param name="awaitingDetector">True while no detector has raised the finding again (<see cref="FindingBook.AwaitingDetector"/>).</param>
public sealed class RestoredFindings(IReadOnlyList<Finding> restored, Func<FindingKind, TimeSpan> quietPeriod, Func<string, bool> awaitingDetector) : IDetector
{
    public string Name => "restored";

    /// <summary>Reads each flow in its observer and keeps only values (interned names, numbers), never the record.</summary>
    public bool KeepsRecords => false;

    public IObservable<Finding> Attach(DetectorContext context) =>
        restored.ToObservable()
            .SelectMany(f => Observable.Timer(quietPeriod(f.Kind), context.Scheduler).Select(_ => f))
            .Where(f => awaitingDetector(f.Id))
            .Select(f => f with { State = FindingState.Resolved });

    public void Dispose() { } // the timers end with the pipeline's subscription
}
