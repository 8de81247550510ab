using FlowWatch.Flows;

namespace FlowWatch.Pipeline;

/// <summary>Remembers the newest flow time processed, and the ids of the flows at that time, for the checkpoint.</summary>
/// <remarks>A sink, so it sees exactly what the pipeline processed: flows still queued or shed are not counted as done.
/// The id list is bounded; past the bound a resumed stream may count a few same-nanosecond flows twice.</remarks>
public sealed class ResumeTracker : IFlowSink
{
    private const int MaxIds = 1024;
    private readonly Lock _lock = new();
    private readonly List<string> _ids = [];
    private long _newest;

    public void Add(FlowRecord flow)
    {
        var t = flow.TimeNanos;
        if (t < _newest) return;
        lock (_lock)
        {
            if (t > _newest) { _newest = t; _ids.Clear(); }
            if (flow.Uuid.Length > 0 && _ids.Count < MaxIds) _ids.Add(flow.Uuid);
        }
    }

    /// <summary>Newest processed event time (Unix ns, 0 before the first flow) and the ids seen at it.</summary>
    public (long NewestNanos, IReadOnlyList<string> Ids) Snapshot()
    {
        lock (_lock) return (_newest, _ids.ToArray());
    }
}
