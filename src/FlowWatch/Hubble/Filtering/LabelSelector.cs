using System.Globalization;
using System.Text.RegularExpressions;

namespace FlowWatch.Hubble.Filtering;

/// <summary>A Kubernetes label selector ("app=web,tier notin (db)", "reserved:world") matched against Cilium endpoint labels ("k8s:app=web").</summary>
/// <remarks>
/// As Hubble's labels filter (pkg/hubble/filters/labels.go over Cilium's LabelArray): a "source:key" in the selector
/// is rewritten to "source.key", and a selector key is split at its first dot into a source and a key, so "k8s:app"
/// selects only k8s-sourced labels; a key without a dot selects the key from any source. Requirements are AND-ed;
/// "!=" and "notin" also hold when the key is absent, as in Kubernetes.
/// </remarks>
internal sealed partial class LabelSelector
{
    private enum Op { Exists, NotExists, In, NotIn, Gt, Lt }

    private readonly record struct Requirement(string? Source, string Key, Op Op, string[] Values);

    private readonly Requirement[] _requirements;

    private LabelSelector(Requirement[] requirements) => _requirements = requirements;

    [GeneratedRegex(@"([^,]\s*[a-z0-9-]+):([a-z0-9-]+)")]
    private static partial Regex SourceColon();

    [GeneratedRegex(@"^\s*(!?)\s*([A-Za-z0-9_.\-/]+)\s*(?:(==|=|!=|>|<)\s*([A-Za-z0-9_.\-]*)|\s(in|notin)\s*\(([^)]*)\))?\s*$")]
    private static partial Regex RequirementSyntax();

    public static LabelSelector Parse(string selector, string field)
    {
        var text = SourceColon().Replace(selector, "$1.$2");
        var requirements = new List<Requirement>();
        foreach (var part in SplitTopLevel(text))
        {
            if (part.Trim().Length == 0)
            {
                if (text.Trim().Length == 0) break;
                throw new FlowFilterException(field, $"{field}: empty requirement in selector '{selector}'");
            }
            var m = RequirementSyntax().Match(part);
            if (!m.Success) throw new FlowFilterException(field, $"{field}: '{part.Trim()}' in '{selector}' is not a label selector requirement");
            var not = m.Groups[1].Value == "!";
            var (source, key) = SplitKey(m.Groups[2].Value);
            Op op;
            string[] values;
            if (m.Groups[3].Success)
            {
                if (not) throw new FlowFilterException(field, $"{field}: '!' goes only before a bare key, in '{selector}'");
                values = [m.Groups[4].Value];
                op = m.Groups[3].Value switch { "!=" => Op.NotIn, ">" => Op.Gt, "<" => Op.Lt, _ => Op.In };
                if (op is Op.Gt or Op.Lt && !long.TryParse(values[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                    throw new FlowFilterException(field, $"{field}: '{values[0]}' after {m.Groups[3].Value} is not an integer");
            }
            else if (m.Groups[5].Success)
            {
                if (not) throw new FlowFilterException(field, $"{field}: '!' goes only before a bare key, in '{selector}'");
                values = m.Groups[6].Value.Split(',').Select(v => v.Trim()).ToArray();
                op = m.Groups[5].Value == "in" ? Op.In : Op.NotIn;
            }
            else
            {
                values = [];
                op = not ? Op.NotExists : Op.Exists;
            }
            requirements.Add(new Requirement(source, key, op, values));
        }
        return new LabelSelector([.. requirements]);
    }

    /// <param name="labels">Cilium labels as in a flow's endpoint: "source:key=value" (source and value optional).</param>
    public bool Matches(IReadOnlyList<string> labels)
    {
        foreach (var r in _requirements)
        {
            var value = Find(labels, r.Source, r.Key);
            var ok = r.Op switch
            {
                Op.Exists => value is not null,
                Op.NotExists => value is null,
                Op.In => value is not null && Array.IndexOf(r.Values, value) >= 0,
                Op.NotIn => value is null || Array.IndexOf(r.Values, value) < 0,
                Op.Gt => value is not null && long.TryParse(value, out var g) && g > long.Parse(r.Values[0], CultureInfo.InvariantCulture),
                Op.Lt => value is not null && long.TryParse(value, out var l) && l < long.Parse(r.Values[0], CultureInfo.InvariantCulture),
                _ => false,
            };
            if (!ok) return false;
        }
        return true;
    }

    // Cilium's LabelArray.Get: the first label with the key, from the selector's source unless that is "any".
    private static string? Find(IReadOnlyList<string> labels, string? source, string key)
    {
        foreach (var label in labels)
        {
            var (ls, lk, lv) = ParseLabel(label);
            if (source is not null && source != "any" && ls != source) continue;
            if (lk == key) return lv;
        }
        return null;
    }

    // Cilium's ParseLabel with ':' as the source delimiter; "$key" is a reserved label.
    private static (string Source, string Key, string Value) ParseLabel(string label)
    {
        string source = "unspec", rest = label;
        if (label.StartsWith('$')) (source, rest) = ("reserved", label[1..]);
        else if (label.IndexOf(':') is var colon and >= 0) (source, rest) = (label[..colon], label[(colon + 1)..]);
        var eq = rest.IndexOf('=');
        if (eq < 0) return (source, rest, "");
        if (eq == 0 && source == "reserved") return (source, rest[1..], "");
        return (source, rest[..eq], rest[(eq + 1)..]);
    }

    // Cilium's parseSelectLabel with '.' as the delimiter: "k8s.app" is source k8s, key app; "app" is any source.
    private static (string? Source, string Key) SplitKey(string key)
    {
        if (key.StartsWith('$')) return ("reserved", key[1..]);
        var dot = key.IndexOf('.');
        if (dot < 0) return key.StartsWith("reserved:", StringComparison.Ordinal) ? ("reserved", key[9..]) : (null, key);
        return (key[..dot], key[(dot + 1)..]);
    }

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '(') depth++;
            else if (text[i] == ')') depth--;
            else if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        yield return text[start..];
    }
}
