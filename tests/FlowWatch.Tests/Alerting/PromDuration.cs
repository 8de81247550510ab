using System.Globalization;
using System.Text.RegularExpressions;

namespace FlowWatch.Tests.Alerting;

/// <summary>Prometheus durations as rules use them ("1m", "90s", "1h30m", "500ms").</summary>
internal static partial class PromDuration
{
    public static TimeSpan? Parse(string text)
    {
        var m = Duration().Match(text);
        if (!m.Success) return null;
        var total = TimeSpan.Zero;
        foreach (Capture c in m.Groups["part"].Captures)
        {
            var unit = c.Value.TrimStart("0123456789".ToCharArray());
            var n = int.Parse(c.Value[..^unit.Length], CultureInfo.InvariantCulture);
            total += unit switch { "h" => TimeSpan.FromHours(n), "m" => TimeSpan.FromMinutes(n), "s" => TimeSpan.FromSeconds(n), _ => TimeSpan.FromMilliseconds(n) };
        }
        return total;
    }

    /// <summary>Whole seconds when exact ("10s"), else whole milliseconds ("7500ms").</summary>
    public static string Format(TimeSpan d)
    {
        var ms = (long)d.TotalMilliseconds;
        return ms % 1000 == 0 ? (ms / 1000).ToString(CultureInfo.InvariantCulture) + "s" : ms.ToString(CultureInfo.InvariantCulture) + "ms";
    }

    [GeneratedRegex(@"^(?<part>\d+(?:ms|h|m|s))+$")]
    private static partial Regex Duration();
}
