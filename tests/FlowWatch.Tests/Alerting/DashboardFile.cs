using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowWatch.Tests.Support;

namespace FlowWatch.Tests.Alerting;

/// <summary>The dashboards in grafana/ (flowwatch.json, one cluster at a time; flowwatch-fleet.json, every cluster side by
/// side): their panels (rows' nested panels included), queries and template variables.</summary>
internal static partial class DashboardFile
{
    public const string Cluster = "flowwatch.json";
    public const string Fleet = "flowwatch-fleet.json";

    public static string Path => PathOf(Cluster);

    public static string PathOf(string name) => System.IO.Path.Combine(TestPaths.RepoRoot, "grafana", name);

    /// <summary>Every dashboard file's name, sorted.</summary>
    public static IReadOnlyList<string> Names =>
        Directory.GetFiles(System.IO.Path.Combine(TestPaths.RepoRoot, "grafana"), "*.json").Select(System.IO.Path.GetFileName).OfType<string>()
            .Order(StringComparer.Ordinal).ToList();

    public static JsonObject Load() => Load(Cluster);

    public static JsonObject Load(string name) => JsonNode.Parse(File.ReadAllText(PathOf(name)))!.AsObject();

    /// <summary>Every panel, rows included, with a collapsed row's panels after it.</summary>
    public static IEnumerable<JsonObject> Panels(JsonObject dashboard)
    {
        foreach (var p in dashboard["panels"]!.AsArray().OfType<JsonObject>())
        {
            yield return p;
            if (p["panels"] is JsonArray nested)
                foreach (var n in nested.OfType<JsonObject>()) yield return n;
        }
    }

    /// <summary>Every panel target's PromQL with the title of the row it sits in (a collapsed row's nested panels, or
    /// the panels after an open row up to the next row).</summary>
    public static IEnumerable<(string Row, string Where, string Query)> PanelQueriesByRow(JsonObject dashboard)
    {
        var row = "";
        foreach (var p in dashboard["panels"]!.AsArray().OfType<JsonObject>())
        {
            IEnumerable<JsonObject> panels = [p];
            if (IsRow(p))
            {
                row = (string?)p["title"] ?? "";
                panels = p["panels"] is JsonArray nested ? nested.OfType<JsonObject>() : [];
            }
            foreach (var panel in panels)
                foreach (var target in Targets(panel))
                    if ((string?)target["expr"] is { Length: > 0 } expr)
                        yield return (row, $"panel '{panel["title"]}' target {target["refId"]}", expr);
        }
    }

    public static bool IsRow(JsonObject panel) => (string?)panel["type"] == "row";

    public static IEnumerable<JsonObject> Targets(JsonObject panel) =>
        panel["targets"] is JsonArray t ? t.OfType<JsonObject>() : [];

    public static IEnumerable<JsonObject> Variables(JsonObject dashboard) =>
        dashboard["templating"]?["list"] is JsonArray list ? list.OfType<JsonObject>() : [];

    /// <summary>A query variable's query text (Grafana 10 stores an object, older versions a string).</summary>
    public static string? VariableQuery(JsonObject variable) => variable["query"] switch
    {
        JsonObject o => (string?)o["query"],
        JsonValue v => (string?)v,
        _ => null,
    };

    /// <summary>Every (where, PromQL) the dashboard would send to Prometheus: panel targets and query variables.</summary>
    public static IEnumerable<(string Where, string Query)> Queries(JsonObject dashboard)
    {
        foreach (var panel in Panels(dashboard))
            foreach (var target in Targets(panel))
                if ((string?)target["expr"] is { Length: > 0 } expr)
                    yield return ($"panel '{panel["title"]}' target {target["refId"]}", expr);
        foreach (var variable in Variables(dashboard))
            if ((string?)variable["type"] == "query" && VariableQuery(variable) is { Length: > 0 } q)
                yield return ($"variable ${variable["name"]}", q);
    }

    /// <summary>Names of the dashboard variables a text refers to ($name, ${name}, ${name:fmt}); Grafana built-ins ($__x) excluded.</summary>
    public static IEnumerable<string> VariableReferences(string text) =>
        VariableReference().Matches(text).Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value)
            .Where(n => !n.StartsWith("__", StringComparison.Ordinal));

    /// <summary>The query as Prometheus would receive it with intervals of one minute and every variable at the value
    /// given in <paramref name="values"/> (a regex, as Grafana interpolates into =~), else at "All" (.*).</summary>
    public static string Substitute(string query, IReadOnlyDictionary<string, string>? values = null) =>
        VariableReference().Replace(query, m =>
        {
            var name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
            if (name is "__rate_interval" or "__interval" or "__range") return "1m";
            return values is not null && values.TryGetValue(name, out var value) ? value : ".*";
        });

    /// <summary>label_values(selector, label) as the PromQL that has one series per value: group by (label) (selector).</summary>
    public static string? LabelValuesAsPromQl(string query)
    {
        var m = LabelValues().Match(query);
        return m.Success ? $"group by ({m.Groups["label"].Value}) ({m.Groups["selector"].Value})" : null;
    }

    [GeneratedRegex(@"^\s*label_values\(\s*(?<selector>.+),\s*(?<label>[a-zA-Z_]\w*)\s*\)\s*$", RegexOptions.Singleline)]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"\$\{(\w+)(?::\w+)?\}|\$(\w+)")]
    private static partial Regex VariableReference();
}
