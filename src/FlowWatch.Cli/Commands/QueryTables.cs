using System.Globalization;
using System.Text;
using FlowWatch.Api;
using FlowWatch.Cli.Terminal;
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

    /// <summary>Open before resolved, then most severe first, then the longest-running first.</summary>
    public static IEnumerable<Finding> Sorted(IEnumerable<Finding> findings) => findings
        .OrderBy(f => f.State == FindingState.Open ? 0 : 1)
        .ThenByDescending(f => f.Severity)
        .ThenBy(f => f.FirstSeen)
        .ThenBy(f => f.Id, StringComparer.Ordinal);

    /// <summary>The findings table; SUBJECT and SUMMARY are cut so that each row fits <paramref name="width"/> (null: never cut).</summary>
    public static string Findings(IReadOnlyList<Finding> findings, int? width, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "SEVERITY", "STATE", "KIND", "SUBJECT", "AGE", "LAST", "SUMMARY" } };
        foreach (var f in findings) rows.Add(FindingRow(f, now));
        return Table(rows, width, cuttable: [3, 6]);
    }

    /// <summary><see cref="Sorted(IEnumerable{Finding})"/> for findings from several clusters; a tie goes by cluster.</summary>
    public static IEnumerable<(string Cluster, Finding Finding)> Sorted(IEnumerable<(string Cluster, Finding Finding)> findings) => findings
        .OrderBy(f => f.Finding.State == FindingState.Open ? 0 : 1)
        .ThenByDescending(f => f.Finding.Severity)
        .ThenBy(f => f.Finding.FirstSeen)
        .ThenBy(f => f.Cluster, StringComparer.Ordinal)
        .ThenBy(f => f.Finding.Id, StringComparer.Ordinal);

    /// <summary>The findings table of several clusters: a CLUSTER column first, then as <see cref="Findings(IReadOnlyList{Finding}, int?, DateTimeOffset)"/>.</summary>
    public static string Findings(IReadOnlyList<(string Cluster, Finding Finding)> findings, int? width, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "CLUSTER", "SEVERITY", "STATE", "KIND", "SUBJECT", "AGE", "LAST", "SUMMARY" } };
        foreach (var (cluster, f) in findings) rows.Add([cluster, .. FindingRow(f, now)]);
        return Table(rows, width, cuttable: [4, 7]);
    }

    private static string[] FindingRow(Finding f, DateTimeOffset now) =>
        [f.Severity.ToString().ToLowerInvariant(), f.State.ToString().ToLowerInvariant(), Finding.KindName(f.Kind),
            Subject(f.Subject), Units.Age(f.FirstSeen, now), Units.Age(f.LastSeen, now) + " ago", f.Summary];

    public static string Subject(FindingSubject s)
    {
        var parts = new List<string>();
        if (s.Pod.Length > 0) parts.Add($"{s.Namespace}/{s.Pod}");
        else if (s.Workload.Length > 0) parts.Add($"{s.Namespace}/{s.Workload}");
        else if (s.Service.Length > 0) parts.Add($"{s.Namespace}/svc/{s.Service}");
        else if (s.Namespace.Length > 0) parts.Add(s.Namespace);
        if (s.Service.Length > 0 && (s.Pod.Length > 0 || s.Workload.Length > 0)) parts.Add($"svc {s.Service}");
        if (s.OtherPod.Length > 0) parts.Add($"vs {s.OtherPod}");
        if (s.Ip.Length > 0) parts.Add(s.Ip);
        if (s.PeerRange.Length > 0) parts.Add($"from {s.PeerRange}");
        if (s.Node.Length > 0) parts.Add($"on {s.Node}");
        return string.Join(" ", parts);
    }

    private static readonly string[] Failures = ["refused", "dropped", "reply_lost", "timeout", "ingress_lost"];

    /// <summary>Worst first: unhealthy, degraded, healthy, then idle; within a state the highest failure share first.</summary>
    public static IEnumerable<BackendHealth> Worst(IEnumerable<BackendHealth> backends) => backends
        .OrderBy(b => StateRank(b.State))
        .ThenByDescending(b => Share(Failed(b), Total(b)))
        .ThenBy(b => b.Pod, StringComparer.Ordinal);

    public static string Backends(IReadOnlyList<BackendHealth> backends, DateTimeOffset now)
    {
        var rows = new List<string[]> { BackendHeader };
        foreach (var b in Worst(backends)) rows.Add(BackendRow(b, now));
        return Table(rows, null, []);
    }

    /// <summary>The backends of one service in several clusters, worst first across them, with a CLUSTER column first.</summary>
    public static string Backends(IReadOnlyList<(string Cluster, BackendHealth Backend)> backends, DateTimeOffset now)
    {
        List<string[]> rows = [["CLUSTER", .. BackendHeader]];
        var worst = backends
            .OrderBy(b => StateRank(b.Backend.State))
            .ThenByDescending(b => Share(Failed(b.Backend), Total(b.Backend)))
            .ThenBy(b => b.Cluster, StringComparer.Ordinal)
            .ThenBy(b => b.Backend.Pod, StringComparer.Ordinal);
        foreach (var (cluster, b) in worst) rows.Add([cluster, .. BackendRow(b, now)]);
        return Table(rows, null, []);
    }

    private static readonly string[] BackendHeader =
        ["STATE", "POD", "NODE", "IP:PORT", "READY", "HANDSHAKES", "FAILED", "REFUSED", "DROPPED", "REPLY_LOST", "TIMEOUT", "HTTP", "5XX", "P50", "LAST SEEN"];

    private static string[] BackendRow(BackendHealth b, DateTimeOffset now)
    {
        var http = b.HttpClasses.Values.Sum();
        var fivexx = b.HttpClasses.GetValueOrDefault("5xx");
        return [b.State, b.Pod, b.Node, $"{b.Ip}:{b.TargetPort}", b.Ready switch { true => "yes", false => "no", _ => "-" },
            Units.Count(Total(b)), Units.Percent(Failed(b), Total(b)),
            Count(b.Handshakes, "refused"), Count(b.Handshakes, "dropped"), Count(b.Handshakes, "reply_lost"), Count(b.Handshakes, "timeout"),
            Units.Count(http), http == 0 ? "-" : $"{Units.Count(fivexx)} ({Units.Percent(fivexx, http)})",
            b.LatencyP50Ms is { } ms ? ms.ToString("0.#", CultureInfo.InvariantCulture) + "ms" : "-",
            b.LastSeen is { } t ? Units.Age(t, now) + " ago" : "-"];
    }

    private static int StateRank(string state) => state switch { "unhealthy" => 0, "degraded" => 1, "healthy" => 2, "idle" => 3, _ => 4 };
    private static long Total(BackendHealth b) => b.Handshakes.Where(kv => kv.Key != "incomplete").Sum(kv => kv.Value);
    private static long Failed(BackendHealth b) => Failures.Sum(k => b.Handshakes.GetValueOrDefault(k));
    private static double Share(long part, long whole) => whole == 0 ? 0 : (double)part / whole;

    private static string Count(IReadOnlyDictionary<string, long> counts, string key) =>
        counts.TryGetValue(key, out var n) ? Units.Count(n) : "0";

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("MMM dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>Left-aligned columns two spaces apart; the last column is not padded.</summary>
    /// <param name="width">Row width to fit; the <paramref name="cuttable"/> columns give up space, the rest never do. Null: no limit.</param>
    public static string Table(IReadOnlyList<string[]> rows, int? width, int[] cuttable)
    {
        var columns = rows[0].Length;
        var widths = new int[columns];
        foreach (var row in rows)
            for (var i = 0; i < columns; i++) widths[i] = Math.Max(widths[i], row[i].Length);
        if (width is { } limit && cuttable.Length > 0) Fit(widths, limit - 2 * (columns - 1), cuttable);
        var sb = new StringBuilder();
        foreach (var row in rows)
        {
            var line = new StringBuilder();
            for (var i = 0; i < columns; i++)
            {
                var cell = TextWidth.Cut(row[i], widths[i]);
                line.Append(i < columns - 1 ? cell.PadRight(widths[i] + 2) : cell);
            }
            sb.Append(line.ToString().TrimEnd()).Append('\n');
        }
        return sb.ToString();
    }

    // Shrinks the widest cuttable column one character at a time until the row fits; none goes under 12 characters.
    private static void Fit(int[] widths, int room, int[] cuttable)
    {
        const int Floor = 12;
        while (widths.Sum() > room)
        {
            var widest = cuttable.OrderByDescending(i => widths[i]).First();
            if (widths[widest] <= Floor) return;
            widths[widest]--;
        }
    }
}
