using System.Globalization;

namespace FlowWatch.Tests.Reliability;

/// <summary>Reads a running FlowWatch's /metrics and sums a family's samples.</summary>
internal sealed class MetricScrape(HttpClient http, Uri metrics)
{
    public async Task<double> SumAsync(string family)
    {
        var text = await http.GetStringAsync(metrics);
        return Sum(text, family);
    }

    /// <summary>The first sample of a family (labels included in <paramref name="family"/> if wanted), NaN as NaN; null when absent.</summary>
    public static double? First(string text, string family)
    {
        foreach (var line in WithoutCluster(text))
        {
            if (line.StartsWith('#') || !line.StartsWith(family, StringComparison.Ordinal)) continue;
            var rest = line[family.Length..];
            if (rest.Length == 0 || (rest[0] != ' ' && rest[0] != '{')) continue;
            return double.Parse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return null;
    }

    public static double Sum(string text, string family)
    {
        double sum = 0;
        foreach (var line in WithoutCluster(text))
        {
            if (line.StartsWith('#') || !line.StartsWith(family, StringComparison.Ordinal)) continue;
            var rest = line[family.Length..];
            if (rest.Length == 0 || (rest[0] != ' ' && rest[0] != '{')) continue;
            var value = line[(line.LastIndexOf(' ') + 1)..];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && !double.IsNaN(v)) sum += v;
        }
        return sum;
    }

    /// <summary>The lines with the runtime's static <c>cluster</c> label taken out, so a family given with its own labels matches.</summary>
    public static IEnumerable<string> WithoutCluster(string text) =>
        text.Split('\n').Select(l => System.Text.RegularExpressions.Regex.Replace(l, "cluster=\"[^\"]*\",?", "").Replace("{}", "").Replace(",}", "}"));
}
