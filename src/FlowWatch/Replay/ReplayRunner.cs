using System.Diagnostics;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Pipeline;

namespace FlowWatch.Replay;

/// <summary>Feeds recorded flows through a pipeline in event time, as fast as it can, and sums up.</summary>
public sealed class ReplayRunner(FlowPipeline pipeline, FlowFileReader reader, int badLineSamples = 20)
{
    /// <summary>Called every so many flows with the count so far, for progress output.</summary>
    public Action<long>? Progress { get; init; }

    /// <summary>Event time to run on past the last flow so pending timeouts (DNS no-answer, handshakes) can fire.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(30);

    public ReplaySummary Run(IReadOnlyList<string> files, CancellationToken ct = default)
    {
        var watch = Stopwatch.StartNew();
        var findings = new List<Finding>();
        using var sub = pipeline.Findings.Subscribe(findings.Add);
        var bad = new List<BadLine>();
        long badCount = 0, flows = 0;
        var lost = new Dictionary<string, ulong>();
        // Several files (one per node, say) are merged by event time, so the detectors see one ordered stream.
        var readers = files.Select((file, index) => (file, items: reader.Read(file, Path.GetFileNameWithoutExtension(file), ct).GetEnumerator())).ToList();
        var heads = new PriorityQueue<(int Reader, FlowRecord Flow), long>();
        try
        {
            for (var i = 0; i < readers.Count; i++) Pull(i);
            while (heads.TryDequeue(out var head, out _))
            {
                ct.ThrowIfCancellationRequested();
                pipeline.Process(head.Flow);
                if (++flows % 100_000 == 0) Progress?.Invoke(flows);
                Pull(head.Reader);
            }
        }
        finally
        {
            foreach (var r in readers) r.items.Dispose();
        }

        // Advances reader i to its next flow, handling the bad lines and lost-event notices on the way.
        void Pull(int i)
        {
            var (file, items) = readers[i];
            while (items.MoveNext())
            {
                var item = items.Current;
                if (item.Flow is { } flow) { heads.Enqueue((i, flow), flow.TimeNanos); return; }
                if (item.Bad is { } b)
                {
                    badCount++;
                    pipeline.Metrics.BadInput.WithLabels("replay").Inc();
                    // A line that ended the input is always shown: it says the rest of the file was not read.
                    if (bad.Count < badLineSamples || b.EndsInput) bad.Add(files.Count > 1 ? b with { Reason = $"{Path.GetFileName(file)}: {b.Reason}" } : b);
                }
                else if (item.LostSource is { } source)
                {
                    lost[source] = Hubble.LostEventSourceNames.SaturatingAdd(lost.GetValueOrDefault(source), item.LostCount);
                    pipeline.Metrics.LostEvents.WithLabels(source).Inc(item.LostCount);
                }
            }
        }
        if (pipeline.Started) pipeline.AdvanceBy(Drain);
        var stats = pipeline.Stats;
        return new ReplaySummary(
            files, flows, badCount, bad,
            stats.FirstEventNanos == 0 ? null : DateTimeOffset.UnixEpoch.AddTicks(stats.FirstEventNanos / 100),
            stats.LastEventNanos == 0 ? null : DateTimeOffset.UnixEpoch.AddTicks(stats.LastEventNanos / 100),
            stats.VerdictCounts, lost, findings, watch.Elapsed);
    }
}
