using FlowWatch.Flows;

namespace FlowWatch.Pipeline;

/// <summary>Plain counters for progress lines and replay summaries (Prometheus has the same, labelled).</summary>
public sealed class PipelineStats
{
    private readonly long[] _byVerdict = new long[8];
    private long _flows;

    public long Flows => Interlocked.Read(ref _flows);
    /// <summary>Flows stamped too far ahead to be believed (stored, not detected on).</summary>
    public long FarFuture { get; private set; }

    /// <summary>Flows stamped too far behind event time (stored, not detected on).</summary>
    public long FarPast { get; private set; }

    /// <summary>Flows later than the allowed lateness, still detected on.</summary>
    public long Late { get; private set; }

    public long FirstEventNanos { get; private set; }
    public long LastEventNanos { get; private set; }

    public long ByVerdict(Verdict v) => (int)v < _byVerdict.Length ? Interlocked.Read(ref _byVerdict[(int)v]) : 0;

    public IReadOnlyDictionary<Verdict, long> VerdictCounts =>
        Enum.GetValues<Verdict>().Where(v => ByVerdict(v) > 0).ToDictionary(v => v, ByVerdict);

    internal void CountLate() => Late++;

    /// <summary>Counts a flow whose time was rejected; it does not widen the time span.</summary>
    internal void CountBadTime(FlowRecord flow, BadTime reason)
    {
        Interlocked.Increment(ref _flows);
        var v = (int)flow.Verdict;
        Interlocked.Increment(ref _byVerdict[v < _byVerdict.Length ? v : 0]);
        if (reason == BadTime.FarFuture) FarFuture++; else FarPast++;
    }

    internal void Count(FlowRecord flow)
    {
        Interlocked.Increment(ref _flows);
        var v = (int)flow.Verdict;
        Interlocked.Increment(ref _byVerdict[v < _byVerdict.Length ? v : 0]);
        if (flow.TimeNanos != 0)
        {
            if (FirstEventNanos == 0 || flow.TimeNanos < FirstEventNanos) FirstEventNanos = flow.TimeNanos;
            if (flow.TimeNanos > LastEventNanos) LastEventNanos = flow.TimeNanos;
        }
    }
}
