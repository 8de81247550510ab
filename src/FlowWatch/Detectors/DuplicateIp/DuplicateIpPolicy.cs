using FlowWatch.Flows;

namespace FlowWatch.Detectors.DuplicateIp;

/// <summary>Which pod of a conflict to delete, and the conflict as reported: kept apart from the tables and the text.</summary>
internal static class DuplicateIpPolicy
{
    /// <summary>The conflict on <paramref name="ip"/>, with its delete candidate and the node it is on.</summary>
    public static IpConflict Conflict(IpAddr ip, IReadOnlyList<ConflictPod> pods, string sources, long alternations)
    {
        var candidate = ChooseDeleteCandidate(pods);
        var node = candidate?.Node is { Length: > 0 } n ? n : pods.FirstOrDefault(p => p.Node.Length != 0)?.Node ?? "";
        return new IpConflict(ip.ToString(), node, pods, candidate, sources, alternations);
    }

    /// <summary>The pod without a CiliumEndpoint beside one with; else the only one started before its agent.</summary>
    public static ConflictPod? ChooseDeleteCandidate(IReadOnlyList<ConflictPod> pods)
    {
        var notManaged = pods.Where(p => p.Managed == false).ToList();
        if (notManaged.Count == 1 && pods.Any(p => p.Managed == true)) return notManaged[0];
        var early = pods.Where(p => p.StartedBeforeAgent == true).ToList();
        if (early.Count == 1) return early[0];
        return notManaged.Count == 1 ? notManaged[0] : null;
    }
}
