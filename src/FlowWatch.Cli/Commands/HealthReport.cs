using System.Globalization;
using System.Text;
using System.Text.Json;
using FlowWatch.Api;
using FlowWatch.Cli.Terminal;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch health</c> as labelled sections (DNS, handshakes, backends, duplicate IP, findings, recent drops), not JSON.</summary>
/// <remarks>Sections are whatever each detector reports about the pod; they are read as JSON and laid out by shape
/// (counts on one line, nested groups indented, times as ages), so a new detector's section reads well without code here.</remarks>
public static class HealthReport
{
    private static readonly string[] Order = ["dns", "handshakes", "backends", "duplicate_ip"];

    private static readonly Dictionary<string, string> Titles = new(StringComparer.Ordinal)
    {
        ["dns"] = "DNS", ["handshakes"] = "Handshakes", ["backends"] = "Backends", ["duplicate_ip"] = "Duplicate IP",
    };

    public static string Render(PodHealthResponse answer, int? width, DateTimeOffset now)
    {
        var sb = new StringBuilder();
        sb.Append($"pod {answer.Namespace}/{answer.Pod} — known by: {string.Join(", ", answer.KnownBy)}\n");
        var names = answer.Sections.Keys.OrderBy(k => Array.IndexOf(Order, k) is var i && i < 0 ? int.MaxValue : i).ThenBy(k => k, StringComparer.Ordinal);
        foreach (var name in names)
        {
            var section = answer.Sections[name] is JsonElement e ? e : JsonSerializer.SerializeToElement(answer.Sections[name], ApiJson.Options);
            sb.Append('\n').Append(Title(name, section)).Append('\n');
            Body(sb, section, "  ", now, skipWindow: true);
        }
        sb.Append('\n');
        if (answer.Findings.Count == 0) sb.Append("Findings: none\n");
        else
        {
            sb.Append($"Findings ({answer.Findings.Count})\n");
            foreach (var line in QueryTables.Findings(QueryTables.Sorted(answer.Findings).ToList(), width - 2, now).TrimEnd('\n').Split('\n'))
                sb.Append("  ").Append(line).Append('\n');
        }
        sb.Append('\n');
        if (answer.RecentDrops.Count == 0) sb.Append("Recent drops: none in the store\n");
        else
        {
            sb.Append($"Recent drops (newest {answer.RecentDrops.Count})\n");
            for (var i = answer.RecentDrops.Count - 1; i >= 0; i--)
            {
                var line = "  " + QueryTables.FlowLine(answer.RecentDrops[i]);
                sb.Append(width is { } w ? TextWidth.Cut(line, w) : line).Append('\n');
            }
        }
        return sb.ToString();
    }

    private static string Title(string name, JsonElement section)
    {
        var title = Titles.GetValueOrDefault(name) ?? Humanise(name);
        if (section.ValueKind == JsonValueKind.Object)
        {
            if (section.TryGetProperty("window_seconds", out var s) && s.TryGetDouble(out var seconds))
                return $"{title} (last {Units.Duration(TimeSpan.FromSeconds(seconds))})";
            if (section.TryGetProperty("window", out var w) && w.ValueKind == JsonValueKind.String && TimeSpan.TryParse(w.GetString(), CultureInfo.InvariantCulture, out var span))
                return $"{title} (last {Units.Duration(span)})";
        }
        return title;
    }

    private static void Body(StringBuilder sb, JsonElement value, string indent, DateTimeOffset now, bool skipWindow = false)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var props = value.EnumerateObject().Where(p => !(skipWindow && p.Name is "window" or "window_seconds")).ToList();
                var keyWidth = props.Count == 0 ? 0 : props.Max(p => Humanise(p.Name).Length) + 2;
                foreach (var p in props)
                {
                    var label = (Humanise(p.Name) + ":").PadRight(keyWidth);
                    if (Inline(p.Value, p.Name, now) is { } text) sb.Append(indent).Append(label).Append(text).Append('\n');
                    else
                    {
                        sb.Append(indent).Append(Humanise(p.Name)).Append(":\n");
                        Body(sb, p.Value, indent + "  ", now);
                    }
                }
                break;
            case JsonValueKind.Array:
                var items = value.GetArrayLength();
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (Inline(item, "", now) is { } text) sb.Append(indent).Append("- ").Append(text).Append('\n');
                    else if (items == 1) Body(sb, item, indent, now);
                    else
                    {
                        sb.Append(indent).Append($"#{++i}\n");
                        Body(sb, item, indent + "  ", now);
                    }
                }
                break;
            default:
                sb.Append(indent).Append(Inline(value, "", now)).Append('\n');
                break;
        }
    }

    // One line for a scalar, a list of scalars or a group of counts; null when the value needs lines of its own.
    private static string? Inline(JsonElement value, string name, DateTimeOffset now)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time) && text.Length >= 20 && text[10] == 'T')
                    return $"{QueryTables.Time(time)} ({Units.Age(time, now)} ago)";
                return text;
            case JsonValueKind.Number:
                if (name.EndsWith("_seconds", StringComparison.Ordinal) && value.TryGetDouble(out var seconds)) return Units.Duration(TimeSpan.FromSeconds(seconds));
                if (name.EndsWith("_ms", StringComparison.Ordinal) && value.TryGetDouble(out var ms)) return ms.ToString("0.#", CultureInfo.InvariantCulture) + "ms";
                // Ports and identities are names, not amounts: no thousands separator.
                if (name.EndsWith("port", StringComparison.Ordinal) || name.EndsWith("identity", StringComparison.Ordinal)) return value.ToString();
                return value.TryGetInt64(out var n) ? Units.Count(n) : value.GetDouble().ToString("0.##", CultureInfo.InvariantCulture);
            case JsonValueKind.True: return "yes";
            case JsonValueKind.False: return "no";
            case JsonValueKind.Null: return "-";
            case JsonValueKind.Array:
                var items = value.EnumerateArray().ToList();
                if (items.Count == 0) return "none";
                if (items.All(x => x.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array)))
                    return string.Join(", ", items.Select(x => Inline(x, "", now)));
                return null;
            case JsonValueKind.Object:
                var props = value.EnumerateObject().ToList();
                if (props.Count == 0) return "none";
                if (props.All(p => p.Value.ValueKind == JsonValueKind.Number))
                {
                    // Counts: the non-zero ones, largest first; all zero says so.
                    var nonZero = props.Where(p => p.Value.GetDouble() != 0).OrderByDescending(p => p.Value.GetDouble()).ToList();
                    return nonZero.Count == 0 ? "none" : string.Join(", ", nonZero.Select(p => $"{p.Name.Replace('_', ' ')} {Inline(p.Value, p.Name, now)}"));
                }
                return null;
            default:
                return value.ToString();
        }
    }

    // "latency_p50_ms" reads "latency p50": the value carries its unit.
    private static string Humanise(string name) =>
        (name.EndsWith("_ms", StringComparison.Ordinal) || name.EndsWith("_seconds", StringComparison.Ordinal) ? name[..name.LastIndexOf('_')] : name).Replace('_', ' ');
}
