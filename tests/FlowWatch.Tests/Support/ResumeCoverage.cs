using FlowWatch.Pipeline;
using FlowWatch.Simulation;

namespace FlowWatch.Tests.Support;

/// <summary>For restart tests over a Relay-shaped stream: whether a flow not processed yet is one the checkpoint hands to the next run.</summary>
/// <remarks>When a run stops, flows still queued or waiting in the reorder stage are not processed, and in a Relay's delivery order
/// they sit among processed ones. They are not lost if the checkpoint's resume span would have the Relay send them again and the
/// next run accept them: stamped at or after the span's start, and not among its processed ids.</remarks>
internal static class ResumeCoverage
{
    /// <summary>The entries of <paramref name="unprocessed"/> the checkpoint would lose (empty when it covers them all).</summary>
    public static List<FlowRing.Entry> NotCovered(Checkpoint checkpoint, string source, IEnumerable<FlowRing.Entry> unprocessed)
    {
        if (checkpoint.Resume?.GetValueOrDefault(source) is not { } span) return unprocessed.ToList();
        var seen = (FlowIdHash.Unpack(span.SeenIds) ?? []).ToHashSet();
        return unprocessed.Where(e => e.TimeNanos < span.SinceNanos || seen.Contains(FlowIdHash.Of(e.Message.Flow.Uuid))).ToList();
    }
}
