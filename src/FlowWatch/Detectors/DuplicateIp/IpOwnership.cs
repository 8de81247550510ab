namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>Who the flows say holds one IP: up to two named pods, how often the name switched, and unmanaged traffic.</summary>
internal sealed class IpOwnership(Flows.IpAddr ip)
{
    public readonly Flows.IpAddr Ip = ip;
    public PodClaim? A;
    public PodClaim? B;
    public PodClaim? Last;
    public long Alternations;
    /// <summary>Alternations already reported: a finding is re-reported only on new ones.</summary>
    public long ReportedAlternations;
    public long LastSeen;
    public long UnmanagedFlows;
    public long UnmanagedFirst;
    public long UnmanagedLast;
    public string UnmanagedNode = "";
    public bool Suspect;

    /// <summary>The pod the last flow named, seen again: the common case, no bookkeeping beyond counts.</summary>
    public bool TryRepeat(string ns, string pod, uint identity, string node, long now)
    {
        var last = Last;
        if (last is null || !last.Is(ns, pod)) return false;
        last.LastSeen = now;
        last.Flows++;
        last.Identity = identity;
        if (node.Length != 0) last.Node = node;
        return true;
    }

    /// <summary>Records a flow naming another pod than the last one; returns true when two pods now claim the IP.</summary>
    public bool Claim(string ns, string pod, uint identity, string node, long now, long cutoff)
    {
        ExpireClaims(cutoff);
        PodClaim? current = A is not null && A.Is(ns, pod) ? A : B is not null && B.Is(ns, pod) ? B : null;
        if (current is null)
        {
            current = new PodClaim(ns, pod) { FirstSeen = now };
            if (A is null) A = current;
            else if (B is null) B = current;
            else
            {
                // A third pod within the window: keep the two most recent, and count afresh for the new pair.
                if (A.LastSeen <= B.LastSeen) A = current; else B = current;
                ResetAlternations();
                Last = null;
            }
        }
        if (Last is not null && !ReferenceEquals(Last, current)) Alternations++;
        Last = current;
        current.LastSeen = now;
        current.Flows++;
        current.Identity = identity;
        if (node.Length != 0) current.Node = node;
        return A is not null && B is not null;
    }

    public void NoteUnmanaged(string node, long now, long cutoff)
    {
        if (UnmanagedLast < cutoff) { UnmanagedFlows = 0; UnmanagedFirst = now; }
        UnmanagedFlows++;
        UnmanagedLast = now;
        if (node.Length != 0) UnmanagedNode = node;
    }

    /// <summary>Drops claims (and unmanaged counts) last seen before <paramref name="cutoff"/>.</summary>
    public void ExpireClaims(long cutoff)
    {
        var changed = false;
        if (A is not null && A.LastSeen < cutoff) { A = null; changed = true; }
        if (B is not null && B.LastSeen < cutoff) { B = null; changed = true; }
        if (A is null && B is not null) { A = B; B = null; }
        if (changed)
        {
            ResetAlternations();
            if (Last is not null && !ReferenceEquals(Last, A)) Last = null;
        }
        if (UnmanagedFlows != 0 && UnmanagedLast < cutoff) UnmanagedFlows = 0;
    }

    /// <summary>Forgets a pod that cluster state says is gone (its IP may now belong to another pod).</summary>
    public void Remove(string ns, string pod)
    {
        if (B is not null && B.Is(ns, pod)) B = null;
        if (A is not null && A.Is(ns, pod)) { A = B; B = null; }
        else return;
        ResetAlternations();
        if (Last is not null && !ReferenceEquals(Last, A)) Last = null;
    }

    private void ResetAlternations()
    {
        Alternations = 0;
        ReportedAlternations = 0;
    }
}
