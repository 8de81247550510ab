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
        foreach (var file in files)
        {
            foreach (var item in reader.Read(file, Path.GetFileNameWithoutExtension(file)))
            {
                ct.ThrowIfCancellationRequested();
                if (item.Flow is { } flow)
                {
                    pipeline.Process(flow);
                    if (++flows % 100_000 == 0) Progress?.Invoke(flows);
                }
                else if (item.Bad is { } b)
                {
                    badCount++;
                    pipeline.Metrics.BadInput.WithLabels("replay").Inc();
                    if (bad.Count < badLineSamples) bad.Add(files.Count > 1 ? b with { Reason = $"{Path.GetFileName(file)}: {b.Reason}" } : b);
                }
                else if (item.LostSource is { } source)
                {
                    lost[source] = lost.GetValueOrDefault(source) + item.LostCount;
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
