namespace FlowWatch.Flows;

/// <summary>Works out the owning workload of a pod when Hubble does not say (older Cilium has no <c>workloads</c>).</summary>
public static class Workloads
{
    private static readonly string[] NameLabels =
    [
        "k8s:app.kubernetes.io/name=", "k8s:app=", "k8s:k8s-app=", "k8s:name=",
    ];

    /// <summary>The workload name from an <c>app</c>-style label, else the pod name less its generated suffixes.</summary>
    public static string Infer(string pod, IEnumerable<string> labels)
    {
        foreach (var prefix in NameLabels)
            foreach (var label in labels)
                if (label.StartsWith(prefix, StringComparison.Ordinal))
                    return label[prefix.Length..];
        return FromPodName(pod);
    }

    /// <summary>"api-7d4d858f75-j76f7" → "api"; "web-0" → "web"; "kube-proxy-abcde" → "kube-proxy".</summary>
    public static string FromPodName(string pod)
    {
        if (pod.Length == 0) return "";
        var parts = pod.Split('-');
        var keep = parts.Length;
        // Drop the pod suffix (5 chars) and a replica-set hash (6-10 chars of [a-z0-9]) when present.
        if (keep > 1 && IsGenerated(parts[keep - 1], 5, 5)) keep--;
        else if (keep > 1 && parts[keep - 1].All(char.IsAsciiDigit)) keep--;
        if (keep > 1 && IsReplicaSetHash(parts[keep - 1])) keep--;
        return string.Join('-', parts, 0, keep);
    }

    // Kubernetes writes generated names (pod-template-hash, pod suffixes) in rand.SafeEncodeString's alphabet: no vowels,
    // no 0, 1 or 3, so no word. A hash of that alphabet is one even without a digit ("storefront-bcdfghjkl-x2x4z").
    private const string SafeAlphabet = "bcdfghjklmnpqrstvwxz2456789";

    private static bool IsReplicaSetHash(string s) =>
        IsGenerated(s, 6, 10) && (s.Any(char.IsAsciiDigit) || s.All(c => SafeAlphabet.Contains(c)));

    private static bool IsGenerated(string s, int min, int max) =>
        s.Length >= min && s.Length <= max && s.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c));
}
