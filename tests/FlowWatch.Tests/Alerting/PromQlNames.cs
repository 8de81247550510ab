using System.Text.RegularExpressions;

namespace FlowWatch.Tests.Alerting;

/// <summary>Pulls the metric names out of a PromQL expression (or a Grafana label_values query) without a full parser.</summary>
/// <remarks>
/// Strings, label matchers, ranges and grouping label lists are cut out first, so what is left are metric
/// names, function and aggregation names (followed by "("), keywords and numbers. __name__ matchers
/// (=, =~ with a plain alternation) are read as names.
/// </remarks>
internal static partial class PromQlNames
{
    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "atan2",
    };

    public static IReadOnlySet<string> MetricNames(string expr)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var labelValues = LabelValuesQuery().Match(expr);
        if (labelValues.Success) expr = labelValues.Groups["selector"].Value;
        foreach (Match m in NameMatcher().Matches(expr))
            foreach (var alt in m.Groups["names"].Value.Split('|')) names.Add(alt.Trim());
        var rest = StringLiteral().Replace(expr, "\"\"");
        rest = Braces().Replace(rest, " ");
        rest = Brackets().Replace(rest, " ");
        rest = Grouping().Replace(rest, " ");
        foreach (Match m in Identifier().Matches(rest))
        {
            var after = rest.AsSpan(m.Index + m.Length).TrimStart();
            if (after.Length > 0 && after[0] == '(') continue; // function or aggregation
            if (Keywords.Contains(m.Value)) continue;
            names.Add(m.Value);
        }
        return names;
    }

    [GeneratedRegex(@"^\s*label_values\(\s*(?<selector>.+),\s*[a-zA-Z_]\w*\s*\)\s*$", RegexOptions.Singleline)]
    private static partial Regex LabelValuesQuery();

    [GeneratedRegex(@"__name__\s*=~?\s*""(?<names>[a-zA-Z0-9_:|]+)""")]
    private static partial Regex NameMatcher();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\{[^{}]*\}")]
    private static partial Regex Braces();

    [GeneratedRegex(@"\[[^\[\]]*\]")]
    private static partial Regex Brackets();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifier();
}
