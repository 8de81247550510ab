using FlowWatch.Findings;

namespace FlowWatch.Replay;

/// <summary>A replay's report for scripts: snake_case like the query API, one entry per finding.</summary>
public sealed record ReplayReport(
    IReadOnlyList<ReplayFileReport> Files,
    long FlowsRead,
    long BadLines,
    IReadOnlyList<BadLine> BadLineSamples,
    DateTimeOffset? FirstEvent,
    DateTimeOffset? LastEvent,
    IReadOnlyDictionary<string, long> ByVerdict,
    IReadOnlyDictionary<string, ulong> LostEvents,
    IReadOnlyDictionary<string, long> BadTime,
    long LateFlows,
    long TimeJumps,
    double ElapsedSeconds,
    IReadOnlyList<ReplayFinding> Findings)
{
    /// <summary>The cluster the recordings are from (<c>--cluster</c>); every finding names it too.</summary>
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Cluster { get; init; } = ClusterName.Default;

    public static ReplayReport From(ReplaySummary s) => new(
        s.Files.Select((f, i) => new ReplayFileReport(f, i < s.FlowsPerFile.Count ? s.FlowsPerFile[i] : 0)).ToList(),
        s.FlowsRead, s.BadLines, s.BadLineSamples, s.First, s.Last,
        s.ByVerdict.ToDictionary(p => FlowWatch.Metrics.PipelineMetrics.VerdictName(p.Key), p => p.Value),
        s.LostEvents,
        new Dictionary<string, long> { ["far_future"] = s.FarFuture, ["far_past"] = s.FarPast },
        s.Late, s.Jumps, Math.Round(s.Elapsed.TotalSeconds, 3),
        s.FinalFindings.Select(x => ReplayFinding.From(x.Final, x.Updates)).ToList()) { Cluster = s.Cluster };
}

/// <summary>One replayed file and how many flows were read from it.</summary>
public sealed record ReplayFileReport(string Path, long Flows);

/// <summary>A finding as <c>/api/v1/findings</c> shows it (the same fields), in its final state, plus how many updates it had.</summary>
public sealed record ReplayFinding(
    string Id,
    FindingKind Kind,
    Severity Severity,
    FindingState State,
    FindingSubject Subject,
    IReadOnlyDictionary<string, long> Evidence,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    string Summary,
    IReadOnlyList<string> Details,
    int Updates)
{
    /// <summary>The cluster the finding is about, as on <see cref="Finding.Cluster"/>.</summary>
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Cluster { get; init; } = "";

    public static ReplayFinding From(Finding f, int updates) =>
        new(f.Id, f.Kind, f.Severity, f.State, f.Subject, f.Evidence, f.FirstSeen, f.LastSeen, f.Summary, f.Details, updates) { Cluster = f.Cluster };
}
