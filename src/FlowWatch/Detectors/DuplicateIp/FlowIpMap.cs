using FlowWatch.Flows;

namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>Bounded IP → ownership map in least-recently-seen order, with expiry; pipeline thread only.</summary>
internal sealed class FlowIpMap(int capacity)
{
    private readonly Dictionary<IpAddr, IpOwnership> _map = new();
    private readonly LinkedList<IpOwnership> _lru = new();

    /// <summary>Entries with two claims or unmanaged traffic: the only ones a tick needs to look at.</summary>
    public HashSet<IpOwnership> Suspects { get; } = new(ReferenceEqualityComparer.Instance);

    public int Count => _map.Count;

    public long Evicted { get; private set; }

    public IpOwnership? Get(IpAddr ip) => _map.GetValueOrDefault(ip);

    /// <summary>The entry for <paramref name="ip"/>, moved to most recent; <paramref name="evicted"/> when one had to go.</summary>
    public IpOwnership Touch(IpAddr ip, long now, out bool evicted)
    {
        evicted = false;
        if (_map.TryGetValue(ip, out var e))
        {
            _lru.Remove(e.LruNode!);
            _lru.AddLast(e.LruNode!);
        }
        else
        {
            if (_map.Count >= capacity)
            {
                Remove(_lru.First!.Value);
                Evicted++;
                evicted = true;
            }
            e = new IpOwnership(ip);
            e.LruNode = _lru.AddLast(e);
            _map[ip] = e;
        }
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
    public int Expire(long cutoff)
    {
        var n = 0;
        while (_lru.First is { } first && first.Value.LastSeen < cutoff) { Remove(first.Value); n++; }
        return n;
    }

    private void Remove(IpOwnership e)
    {
        _map.Remove(e.Ip);
        _lru.Remove(e.LruNode!);
        ClearSuspect(e);
    }
}
