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

    public static double Sum(string text, string family)
    {
        double sum = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#') || !line.StartsWith(family, StringComparison.Ordinal)) continue;
            var rest = line[family.Length..];
            if (rest.Length == 0 || (rest[0] != ' ' && rest[0] != '{')) continue;
            var value = line[(line.LastIndexOf(' ') + 1)..];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && !double.IsNaN(v)) sum += v;
        }
        return sum;
    }
}
