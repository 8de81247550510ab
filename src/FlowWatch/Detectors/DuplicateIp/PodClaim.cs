namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>Flows attributed an IP to this pod, from first to last seen.</summary>
internal sealed class PodClaim(string ns, string pod)
{
    public readonly string Namespace = ns;
    public readonly string Pod = pod;
    public uint Identity;
    public string Node = "";
    public long FirstSeen;
    public long LastSeen;
    public long Flows;

    // Names are interned by the converter, so the reference check settles nearly every comparison.
    public bool Is(string ns, string pod) =>
        (ReferenceEquals(Pod, pod) || Pod == pod) && (ReferenceEquals(Namespace, ns) || Namespace == ns);
}
