using FlowWatch.Detectors.Common;

namespace FlowWatch.Detectors.Dns;

/// <summary>The DNS detector's client workloads: a bounded LRU of drop episodes, and the ones with drops not yet reported.</summary>
/// <remarks>Pipeline thread only, like the detector's flow handling.</remarks>
internal sealed class DnsWorkloadTable
{
    private readonly BoundedLru<WorkloadKey, DnsWorkloadState> _workloads;
    private readonly List<DnsWorkloadState> _dirty = [];

    /// <param name="onEvicted">Called for each workload the bound pushes out (to count it).</param>
    public DnsWorkloadTable(int capacity, Action onEvicted) =>
        _workloads = new BoundedLru<WorkloadKey, DnsWorkloadState>(capacity, (_, s) =>
        {
            s.Dirty = false;
            onEvicted();
        });

    public int Count => _workloads.Count;

    /// <summary>Workloads pushed out by the bound.</summary>
    public long Evicted => _workloads.Evicted;

    /// <summary>The workload's state, made most recent and marked active now; created (evicting at the bound) when new.</summary>
    public DnsWorkloadState Touch(WorkloadKey key, long nowTicks)
    {
        var s = _workloads.GetOrAdd(key, k => new DnsWorkloadState(k));
        s.LastActivityTicks = nowTicks;
        return s;
    }

    /// <summary>The workload's state without making it more recent (counting a lookup is not activity).</summary>
    public bool TryPeek(WorkloadKey key, out DnsWorkloadState state) => _workloads.TryPeek(key, out state);

    public void MarkDirty(DnsWorkloadState s)
    {
        if (s.Dirty) return;
        s.Dirty = true;
        _dirty.Add(s);
    }

    /// <summary>Hands over every workload with drops since the last call (and still kept), clearing the mark.</summary>
    public void DrainDirty(Action<DnsWorkloadState> report)
    {
        if (_dirty.Count == 0) return;
        foreach (var s in _dirty)
        {
            if (!s.Dirty) continue;
            s.Dirty = false;
            report(s);
        }
        _dirty.Clear();
    }

    /// <summary>Forgets workloads with no activity since <paramref name="cutoffTicks"/>.</summary>
    public void ExpireIdle(long cutoffTicks) =>
        _workloads.RemoveOldestWhile((_, s) => s.LastActivityTicks < cutoffTicks, (_, s) => s.Dirty = false);
}
