using System.Diagnostics;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Pipeline;

namespace FlowWatch.Replay;

/// <summary>Feeds recorded flows through a pipeline in event time, as fast as it can, and sums up.</summary>
/// <remarks>
/// Several files (one per node, say, as `hubble observe` on each agent writes them) are one incident: a k-way merge by
/// event time gives the detectors the one ordered stream a Relay would have delivered. Each file's outliers
/// (<see cref="RecordingTimeFilter"/>) are set aside first, so one bad stamp can neither stall its file in the merge nor
/// drag event time for the others.
/// </remarks>
public sealed class ReplayRunner(FlowPipeline pipeline, FlowFileReader reader, int badLineSamples = 20)
{
    /// <summary>Called about once a second of wall time with the count so far, for progress output.</summary>
    public Action<long>? Progress { get; init; }

    /// <summary>Event time to run on past the last flow so pending timeouts (DNS no-answer, handshakes) can fire.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How far from its neighbours a flow's stamp may be before it is set aside as bad time.</summary>
    public TimeSpan OutlierTolerance { get; init; } = RecordingTimeFilter.DefaultTolerance;

    /// <summary>How long a cancelled <see cref="RunAsync"/> waits for the loop to notice (between two flows) before it leaves it behind.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromMilliseconds(200);

    /// <summary><see cref="Run"/> on a thread-pool thread, cancellable at once: when <paramref name="ct"/> fires, the loop stops
    /// at the next flow, and if one flow holds it longer than <see cref="StopGrace"/> (a detector busy with it, the timers of a
    /// jump) the run is left to the process's end and <see cref="OperationCanceledException"/> is thrown now.</summary>
    public async Task<ReplaySummary> RunAsync(IReadOnlyList<string> files, CancellationToken ct)
    {
        var run = Task.Run(() => Run(files, ct), CancellationToken.None);
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (ct.Register(() => stopped.TrySetResult()))
            if (await Task.WhenAny(run, stopped.Task).ConfigureAwait(false) == run) return await run.ConfigureAwait(false);
        Hosting.StopTrace.Mark("replay: cancelled");
        if (await Task.WhenAny(run, Task.Delay(StopGrace, CancellationToken.None)).ConfigureAwait(false) == run) return await run.ConfigureAwait(false);
        throw new OperationCanceledException("stopped with a flow still being processed", ct);
    }

    public ReplaySummary Run(IReadOnlyList<string> files, CancellationToken ct = default)
    {
        var watch = Stopwatch.StartNew();
        var findings = new List<Finding>();
        using var sub = pipeline.Findings.Subscribe(findings.Add);
        var bad = new List<BadLine>();
        long badCount = 0, flows = 0, lastProgress = 0;
        var perFile = new long[files.Count];
        var lost = new Dictionary<string, ulong>();
        var readers = new List<IEnumerator<(RecordedItem Item, BadTime? Bad)>>(files.Count);
        var heads = new PriorityQueue<(int Reader, FlowRecord Flow), long>();
        try
        {
            foreach (var file in files)
                readers.Add(RecordingTimeFilter.Apply(reader.Read(file, Path.GetFileNameWithoutExtension(file), ct), OutlierTolerance).GetEnumerator());
            for (var i = 0; i < readers.Count; i++) Pull(i);
            while (heads.TryDequeue(out var head, out _))
            {
                ct.ThrowIfCancellationRequested();
                pipeline.Process(head.Flow);
                if ((++flows & 63) == 0 && Progress is not null && watch.ElapsedMilliseconds - lastProgress >= 1000)
                {
                    lastProgress = watch.ElapsedMilliseconds;
                    Progress(flows);
                }
                Pull(head.Reader);
            }
        }
        finally
        {
            foreach (var r in readers) r.Dispose();
        }

        // Advances reader i to its next flow, handling bad lines, bad stamps and lost-event notices on the way.
        void Pull(int i)
        {
            var items = readers[i];
            while (true)
            {
                bool more;
                try { more = items.MoveNext(); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    AddBad(i, new BadLine(0, "unreadable file: " + e.Message));
                    return;
                }
                if (!more) return;
                var (item, badTime) = items.Current;
                if (item.Flow is { } flow)
                {
                    perFile[i]++;
                    if (badTime is { } reason) { pipeline.RejectBadTime(flow, reason); continue; }
                    heads.Enqueue((i, flow), flow.TimeNanos);
                    return;
                }
                if (item.Bad is { } b) AddBad(i, b);
                else if (item.LostSource is { } source)
                {
                    lost[source] = Hubble.LostEventSourceNames.SaturatingAdd(lost.GetValueOrDefault(source), item.LostCount);
                    pipeline.Metrics.LostEvents.WithLabels(source).Inc(item.LostCount);
                }
            }
        }

        void AddBad(int i, BadLine b)
        {
            badCount++;
            pipeline.Metrics.BadInput.WithLabels("replay").Inc();
            // A line that ended the input is always shown: it says the rest of the file was not read.
            if (bad.Count < badLineSamples || b.EndsInput) bad.Add(files.Count > 1 ? b with { Reason = $"{Path.GetFileName(files[i])}: {b.Reason}" } : b);
        }

        ct.ThrowIfCancellationRequested();
        pipeline.Flush();
        if (pipeline.Started) pipeline.AdvanceBy(Drain);
        var stats = pipeline.Stats;
        return new ReplaySummary(
            files, perFile.Sum(), badCount, bad,
            stats.FirstEventNanos == 0 ? null : DateTimeOffset.UnixEpoch.AddTicks(stats.FirstEventNanos / 100),
            stats.LastEventNanos == 0 ? null : DateTimeOffset.UnixEpoch.AddTicks(stats.LastEventNanos / 100),
            stats.VerdictCounts, lost, findings, watch.Elapsed)
        {
            FlowsPerFile = perFile,
            Cluster = pipeline.Book.Cluster,
            FarFuture = stats.FarFuture,
            FarPast = stats.FarPast,
            Late = stats.Late,
            Jumps = pipeline.EventClock?.Jumps ?? 0,
        };
    }
}
