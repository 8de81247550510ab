namespace FlowWatch.Remediation;

/// <summary>What remediation may do: nothing (default), log and count (dry-run), or evict.</summary>
public enum RemediationMode { Off, DryRun, Evict }

/// <summary>Settings of the unmanaged-pod remediator (<c>--remediate</c>, <c>--remediate-exclude</c>, <c>--remediate-max</c>).</summary>
public sealed record RemediationOptions
{
    public RemediationMode Mode { get; init; } = RemediationMode.Off;

    /// <summary>Namespaces never touched.</summary>
    public IReadOnlyList<string> ExcludedNamespaces { get; init; } = ["kube-system"];

    /// <summary>Evictions (or, in dry-run, would-be evictions) per <see cref="Interval"/>, at most.</summary>
    public int MaxPerInterval { get; init; } = 1;

    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How often candidates are re-evaluated besides when a finding opens.</summary>
    public TimeSpan EvaluateEvery { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Pods whose last decision is remembered (so a decision is counted once, not per evaluation).</summary>
    public int MaxRemembered { get; init; } = 10_000;

    public static RemediationMode ParseMode(string text) => text.Trim().ToLowerInvariant() switch
    {
        "off" or "" => RemediationMode.Off,
        "dry-run" or "dryrun" => RemediationMode.DryRun,
        "evict" => RemediationMode.Evict,
        _ => throw new FormatException($"'{text}' is not off, dry-run or evict"),
    };

    public RemediationOptions Validate()
    {
        if (MaxPerInterval < 1) throw new ArgumentException("remediation: MaxPerInterval must be at least 1");
        if (Interval <= TimeSpan.Zero || EvaluateEvery <= TimeSpan.Zero) throw new ArgumentException("remediation: Interval and EvaluateEvery must be positive");
        if (MaxRemembered < 1) throw new ArgumentException("remediation: MaxRemembered must be at least 1");
        return this;
    }
}
