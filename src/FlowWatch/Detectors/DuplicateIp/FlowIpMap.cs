using FlowWatch.Detectors.Common;
using FlowWatch.Flows;

namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>Bounded IP → ownership map in least-recently-seen order, with expiry; pipeline thread only.</summary>
internal sealed class FlowIpMap
{
    private readonly BoundedLru<IpAddr, IpOwnership> _map;

    public FlowIpMap(int capacity) => _map = new BoundedLru<IpAddr, IpOwnership>(capacity, (_, e) => ClearSuspect(e));

    /// <summary>Entries with two claims or unmanaged traffic: the only ones a tick needs to look at.</summary>
    public HashSet<IpOwnership> Suspects { get; } = new(ReferenceEqualityComparer.Instance);

    public int Count => _map.Count;

    public long Evicted => _map.Evicted;

    public IpOwnership? Get(IpAddr ip) => _map.TryPeek(ip, out var e) ? e : null;

    /// <summary>The entry for <paramref name="ip"/>, moved to most recent; <paramref name="evicted"/> when one had to go.</summary>
    public IpOwnership Touch(IpAddr ip, long now, out bool evicted)
    {
        var before = _map.Evicted;
        var e = _map.GetOrAdd(ip, static k => new IpOwnership(k));
        evicted = _map.Evicted != before;
        e.LastSeen = now;
        return e;
    }

    public void MarkSuspect(IpOwnership e)
    {
        if (!e.Suspect) { e.Suspect = true; Suspects.Add(e); }
    }

    public void ClearSuspect(IpOwnership e)
    {
        if (e.Suspect) { e.Suspect = false; Suspects.Remove(e); }
    }

    /// <summary>Removes every entry not seen since <paramref name="cutoff"/>.</summary>
    public int Expire(long cutoff) => _map.RemoveOldestWhile((_, e) => e.LastSeen < cutoff, (_, e) => ClearSuspect(e));
}
