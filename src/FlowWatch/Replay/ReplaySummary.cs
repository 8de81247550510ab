using System.Globalization;
using System.Text;
using FlowWatch.Findings;
using FlowWatch.Flows;

namespace FlowWatch.Replay;

/// <summary>What a replay read and found, for a person to read at a glance.</summary>
public sealed record ReplaySummary(
    IReadOnlyList<string> Files,
    long FlowsRead,
    long BadLines,
    IReadOnlyList<BadLine> BadLineSamples,
    DateTimeOffset? First,
    DateTimeOffset? Last,
    IReadOnlyDictionary<Verdict, long> ByVerdict,
    IReadOnlyDictionary<string, ulong> LostEvents,
    IReadOnlyList<Finding> Findings,
    TimeSpan Elapsed)
{
    /// <summary>Flows read from each file, in the order of <see cref="Files"/>; a zero means nothing could be read from it.</summary>
    public IReadOnlyList<long> FlowsPerFile { get; init; } = [];

    /// <summary>The cluster the recordings are from (<c>--cluster</c>), named in the report and on every finding.</summary>
    public string Cluster { get; init; } = FlowWatch.Findings.ClusterName.Default;

    /// <summary>Flows stamped too far ahead of their neighbours: stored, not detected on.</summary>
    public long FarFuture { get; init; }

    /// <summary>Flows stamped too far behind their neighbours or event time: stored, not detected on.</summary>
    public long FarPast { get; init; }

    /// <summary>Flows later than the allowed lateness; still detected on.</summary>
    public long Late { get; init; }

    /// <summary>Gaps in event time crossed at once (longer than the catch-up).</summary>
    public long Jumps { get; init; }

    /// <summary>Files from which not one flow could be read (empty, every line bad, unreadable).</summary>
    public IReadOnlyList<string> FilesWithoutFlows =>
        Files.Where((_, i) => i >= FlowsPerFile.Count || FlowsPerFile[i] == 0).ToList();

    /// <summary>Each finding once, in its final state, with how many updates it had.</summary>
    public IReadOnlyList<(Finding Final, int Updates)> FinalFindings =>
        Findings.GroupBy(x => x.Id).Select(g => (g.Last(), g.Count())).OrderBy(x => x.Item1.FirstSeen).ThenBy(x => x.Item1.Id, StringComparer.Ordinal).ToList();

    public string ToText()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"Replay of {string.Join(", ", Files.Select(Path.GetFileName))} (cluster {Cluster})");
        var rate = Elapsed.TotalSeconds > 0 ? FlowsRead / Elapsed.TotalSeconds : 0;
        sb.AppendLine(inv, $"  flows read    {FlowsRead:N0} in {Elapsed.TotalSeconds:F2} s ({rate:N0} flows/s)");
        sb.AppendLine(inv, $"  bad lines     {BadLines:N0}");
        foreach (var b in BadLineSamples) sb.AppendLine(inv, $"    line {b.LineNumber}: {b.Reason}");
        if (BadLines > BadLineSamples.Count) sb.AppendLine(inv, $"    ... and {BadLines - BadLineSamples.Count:N0} more");
        if (First is { } f && Last is { } l)
            sb.AppendLine(inv, $"  time span     {f:yyyy-MM-dd HH:mm:ss.fff} → {l:yyyy-MM-dd HH:mm:ss.fff} UTC ({(l - f).TotalSeconds:F1} s)");
        if (FarFuture + FarPast > 0)
            sb.AppendLine(inv, $"  bad time      {FarFuture:N0} far in the future, {FarPast:N0} far in the past (kept in the store, not given to the detectors)");
        if (Late > 0) sb.AppendLine(inv, $"  late flows    {Late:N0} (later than the allowed lateness)");
        if (Jumps > 0) sb.AppendLine(inv, $"  time jumps    {Jumps:N0} gaps in event time crossed at once");
        foreach (var file in FilesWithoutFlows) sb.AppendLine(inv, $"  no flows in   {file}");
        sb.AppendLine("  by verdict    " + (ByVerdict.Count == 0 ? "-" :
            string.Join(", ", ByVerdict.OrderByDescending(p => p.Value).Select(p => $"{p.Key.ToString().ToUpperInvariant()} {p.Value:N0}"))));
        if (LostEvents.Count > 0)
            sb.AppendLine("  lost events   " + string.Join(", ", LostEvents.Select(p => $"{p.Key} {p.Value:N0}")));
        var findings = FinalFindings;
        sb.AppendLine(inv, $"  findings      {findings.Count}");
        foreach (var (x, _) in findings)
        {
            sb.AppendLine(inv, $"    [{x.Severity.ToString().ToUpperInvariant()}] {Finding.KindName(x.Kind)} {x.FirstSeen:HH:mm:ss}–{x.LastSeen:HH:mm:ss} ({x.State.ToString().ToLowerInvariant()})");
            sb.AppendLine(inv, $"      {x.Summary}");
            foreach (var d in x.Details.Take(5)) sb.AppendLine(inv, $"      · {d}");
        }
        return sb.ToString();
    }
}
