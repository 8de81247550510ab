using System.Diagnostics;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Pipeline;

namespace FlowWatch.Cli.Terminal;

/// <summary>One reading of a running watcher, for the live view and the progress line.</summary>
public sealed record StatusReading(
    DateTimeOffset At, long Flows, double FlowsPerSecond, long Forwarded, long Dropped, long OtherVerdicts,
    string Connection, ulong Lost, long Shed, double LagSeconds, IReadOnlyList<Finding> OpenFindings)
{
    /// <summary>"2.5s", or "unknown" until a flow has streamed (the lag is NaN then; as a number it would print "NaN"
    /// and, in a JSON log record, make the formatter throw and abort the process).</summary>
    public string LagText => double.IsFinite(LagSeconds) ? $"{LagSeconds:0.0}s" : "unknown";
}

/// <summary>Reads the watcher's counters; the flow rate is the change since the previous reading.</summary>
public sealed class WatchStatus(FlowPipeline pipeline, FlowIntake intake, Func<string> connection, Func<ulong> lost)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastFlows;
    private TimeSpan _lastAt;

    public FlowPipeline Pipeline => pipeline;

    public StatusReading Read()
    {
        var s = pipeline.Stats;
        var flows = s.Flows;
        var at = _clock.Elapsed;
        var rate = (flows - _lastFlows) / Math.Max(0.001, (at - _lastAt).TotalSeconds);
        (_lastFlows, _lastAt) = (flows, at);
        var fwd = s.ByVerdict(Verdict.Forwarded);
        var drop = s.ByVerdict(Verdict.Dropped);
        return new StatusReading(DateTimeOffset.Now, flows, rate, fwd, drop, Math.Max(0, flows - fwd - drop),
            connection(), lost(), intake.Shed, pipeline.Metrics.EventTimeLag.Value, pipeline.Book.OpenFindings);
    }

    /// <summary>The average rate since start, for the last line at shutdown.</summary>
    public StatusReading Final() => Read() with { FlowsPerSecond = pipeline.Stats.Flows / Math.Max(0.001, _clock.Elapsed.TotalSeconds) };

    /// <summary>"Now" for ages: the flows' own time when there is one (replays, lagging streams), else the wall clock.</summary>
    public DateTimeOffset EventNow => pipeline.Now > DateTimeOffset.UnixEpoch ? pipeline.Now : DateTimeOffset.UtcNow;
}
