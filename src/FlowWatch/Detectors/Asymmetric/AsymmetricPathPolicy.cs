using FlowWatch.Findings;

namespace FlowWatch.Detectors.Asymmetric;

/// <summary>The counts an asymmetric-path verdict is taken from: one (pod, peer range) group's window, the same pod's
/// completions from other ranges, and where cluster state puts the pod IP.</summary>
/// <param name="PrimaryEni">True on the primary ENI, false on a secondary one, null when cluster state does not say.</param>
public readonly record struct AsymmetricCounts(long Handshakes, long ReplyLost, long IngressLost, long OtherRangesCompleted, bool? PrimaryEni)
{
    public long Lost => ReplyLost + IngressLost;
}

/// <summary>An asymmetric-path verdict: whether to raise the finding, and how sure it is.</summary>
public readonly record struct AsymmetricVerdict(bool Raise, int ConfidencePct, Severity Severity);

/// <summary>Counts in, verdict out: the asymmetric-path decision, kept pure so it is tested on its own.</summary>
/// <remarks>
/// A group with at least <see cref="AsymmetricPathOptions.MinHandshakes"/> handshakes of which the lost share (reply
/// lost or ingress lost) reaches <see cref="AsymmetricPathOptions.ReplyLostRatio"/> is raised. Confidence starts at 50%,
/// rises when the same pod completes handshakes with other ranges (the pod works, one path does not) and when the pod
/// IP sits on a secondary ENI, and falls when it is known to be on the primary ENI; 90% and above is Critical.
/// </remarks>
public static class AsymmetricPathPolicy
{
    /// <summary>Enough handshakes, and enough of them lost: the only part of the verdict that needs the group alone.</summary>
    public static bool Suspect(long handshakes, long lost, AsymmetricPathOptions o) =>
        handshakes >= o.MinHandshakes && lost >= o.ReplyLostRatio * handshakes;

    public static AsymmetricVerdict Judge(in AsymmetricCounts c, AsymmetricPathOptions o)
    {
        if (!Suspect(c.Handshakes, c.Lost, o)) return default;
        var confidence = 50;
        if (c.OtherRangesCompleted > 0) confidence += 25;
        if (c.PrimaryEni == false) confidence += 20;
        if (c.PrimaryEni == true) confidence -= 20;
        return new AsymmetricVerdict(true, confidence, confidence >= 90 ? Severity.Critical : Severity.Warning);
    }
}
