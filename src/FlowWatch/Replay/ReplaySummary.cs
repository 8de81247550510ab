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
    public string ToText()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"Replay of {string.Join(", ", Files.Select(Path.GetFileName))}");
        var rate = Elapsed.TotalSeconds > 0 ? FlowsRead / Elapsed.TotalSeconds : 0;
        sb.AppendLine(inv, $"  flows read    {FlowsRead:N0} in {Elapsed.TotalSeconds:F2} s ({rate:N0} flows/s)");
        sb.AppendLine(inv, $"  bad lines     {BadLines:N0}");
        foreach (var b in BadLineSamples) sb.AppendLine(inv, $"    line {b.LineNumber}: {b.Reason}");
        if (BadLines > BadLineSamples.Count) sb.AppendLine(inv, $"    ... and {BadLines - BadLineSamples.Count:N0} more");
        if (First is { } f && Last is { } l)
            sb.AppendLine(inv, $"  time span     {f:yyyy-MM-dd HH:mm:ss.fff} → {l:yyyy-MM-dd HH:mm:ss.fff} UTC ({(l - f).TotalSeconds:F1} s)");
        sb.AppendLine("  by verdict    " + (ByVerdict.Count == 0 ? "-" :
            string.Join(", ", ByVerdict.OrderByDescending(p => p.Value).Select(p => $"{p.Key.ToString().ToUpperInvariant()} {p.Value:N0}"))));
        if (LostEvents.Count > 0)
            sb.AppendLine("  lost events   " + string.Join(", ", LostEvents.Select(p => $"{p.Key} {p.Value:N0}")));
        var findings = Findings.GroupBy(x => x.Id).Select(g => g.Last()).ToList();
        sb.AppendLine(inv, $"  findings      {findings.Count}");
        foreach (var x in findings.OrderBy(x => x.FirstSeen))
        {
            sb.AppendLine(inv, $"    [{x.Severity.ToString().ToUpperInvariant()}] {Finding.KindName(x.Kind)} {x.FirstSeen:HH:mm:ss}–{x.LastSeen:HH:mm:ss} ({x.State.ToString().ToLowerInvariant()})");
            sb.AppendLine(inv, $"      {x.Summary}");
            foreach (var d in x.Details.Take(5)) sb.AppendLine(inv, $"      · {d}");
        }
        return sb.ToString();
    }
}
