using System.Globalization;
using System.Text;
using Prometheus;

namespace FlowWatch.Tests.Detectors.Dns;

/// <summary>Reads a custom registry the way Prometheus would: through its text exposition.</summary>
internal static class MetricText
{
    public static string Export(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Series lines (no comments) of the metric family <paramref name="name"/>.</summary>
    public static IReadOnlyList<string> Series(string text, string name) =>
        text.Split('\n').Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal)).ToList();

    /// <summary>Value of the series with exactly these labels (in any order), or null when absent.</summary>
    public static double? Value(CollectorRegistry registry, string name, params (string Label, string Value)[] labels)
    {
        foreach (var line in Series(Export(registry), name))
        {
            var parsed = Labels(line);
            // A runtime's registry labels every series with its cluster; a test that does not ask about it means any.
            if (!labels.Any(l => l.Label == "cluster")) parsed.Remove("cluster");
            if (parsed.Count != labels.Length) continue;
            if (labels.All(l => parsed.TryGetValue(l.Label, out var v) && v == l.Value))
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }
        return null;
    }

    public static Dictionary<string, string> Labels(string line)
    {
        var result = new Dictionary<string, string>();
        var open = line.IndexOf('{');
        if (open < 0) return result;
        var close = line.LastIndexOf('}');
        var body = line[(open + 1)..close];
        var i = 0;
        while (i < body.Length)
        {
            var eq = body.IndexOf('=', i);
            var name = body[i..eq];
            var start = eq + 2;
            var end = start;
            while (body[end] != '"' || body[end - 1] == '\\') end++;
            result[name] = body[start..end];
            i = end + 2;
        }
        return result;
    }
}
