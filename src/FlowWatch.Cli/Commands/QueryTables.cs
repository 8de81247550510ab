using System.Globalization;
using System.Text;
using FlowWatch.Api;
using FlowWatch.Detectors;
using FlowWatch.Findings;

namespace FlowWatch.Cli.Commands;

/// <summary>Terminal tables for the query commands; flows read like <c>hubble observe</c>.</summary>
public static class QueryTables
{
    public static string FlowLine(FlowView f)
    {
        var time = f.Time.UtcDateTime.ToString("MMM dd HH:mm:ss.fff", CultureInfo.InvariantCulture);
        var reason = f.DropReason ?? "";
        return $"{time}  {Side(f.Source)} -> {Side(f.Destination)}  {f.Verdict.ToUpperInvariant()}{(reason.Length > 0 ? " " + reason : "")}  {f.Summary}";
    }

    private static string Side(EndpointView e)
    {
        var port = e.Port is { } p ? $":{p}" : "";
        if (e.Pod is not null) return $"{e.Namespace}/{e.Pod}{port}";
        var ip = e.Ip ?? "";
        var label = e.Display != ip ? $" {e.Display}" : "";   // (world), (host), ...
        return $"{ip}{port}{label}".Trim();
    }

    public static string Findings(IReadOnlyList<Finding> findings)
    {
        var rows = new List<string[]> { new[] { "STATE", "SEVERITY", "KIND", "SUBJECT", "SINCE", "LAST SEEN", "SUMMARY" } };
        foreach (var f in findings)
            rows.Add([f.State.ToString().ToLowerInvariant(), f.Severity.ToString().ToLowerInvariant(), Finding.KindName(f.Kind),
                Subject(f.Subject), Time(f.FirstSeen), Time(f.LastSeen), f.Summary]);
        return Table(rows);
    }

    public static string Subject(FindingSubject s)
    {
        var parts = new List<string>();
        if (s.Pod.Length > 0) parts.Add($"{s.Namespace}/{s.Pod}");
        else if (s.Service.Length > 0) parts.Add($"{s.Namespace}/svc/{s.Service}");
        else if (s.Workload.Length > 0) parts.Add($"{s.Namespace}/{s.Workload}");
        else if (s.Namespace.Length > 0) parts.Add(s.Namespace);
        if (s.OtherPod.Length > 0) parts.Add($"vs {s.OtherPod}");
        if (s.Ip.Length > 0) parts.Add(s.Ip);
        if (s.PeerRange.Length > 0) parts.Add($"from {s.PeerRange}");
        if (s.Node.Length > 0) parts.Add($"on {s.Node}");
        return string.Join(" ", parts);
    }

    public static string Backends(IReadOnlyList<BackendHealth> backends)
    {
        var rows = new List<string[]> { new[] { "POD", "NODE", "IP:PORT", "STATE", "SCORE", "COMPLETED", "REFUSED", "DROPPED", "REPLY_LOST", "TIMEOUT", "5XX", "P50 MS", "LAST SEEN" } };
        foreach (var b in backends.OrderBy(b => b.Score).ThenBy(b => b.Pod, StringComparer.Ordinal))
            rows.Add([b.Pod, b.Node, $"{b.Ip}:{b.TargetPort}", b.State, b.Score.ToString("0.##", CultureInfo.InvariantCulture),
                Count(b.Handshakes, "completed"), Count(b.Handshakes, "refused"), Count(b.Handshakes, "dropped"),
                Count(b.Handshakes, "reply_lost"), Count(b.Handshakes, "timeout"), Count(b.HttpClasses, "5xx"),
                b.LatencyP50Ms is { } ms ? ms.ToString("0.#", CultureInfo.InvariantCulture) : "-", b.LastSeen is { } t ? Time(t) : "-"]);
        return Table(rows);
    }

    private static string Count(IReadOnlyDictionary<string, long> counts, string key) =>
        counts.TryGetValue(key, out var n) ? n.ToString(CultureInfo.InvariantCulture) : "0";

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("MMM dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>Left-aligned columns two spaces apart; the last column is not padded.</summary>
    public static string Table(IReadOnlyList<string[]> rows)
    {
        var widths = new int[rows[0].Length];
        foreach (var row in rows)
            for (var i = 0; i < row.Length - 1; i++) widths[i] = Math.Max(widths[i], row[i].Length);
        var sb = new StringBuilder();
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
                sb.Append(i < row.Length - 1 ? row[i].PadRight(widths[i] + 2) : row[i]);
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
