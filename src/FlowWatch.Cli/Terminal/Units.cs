using System.Globalization;

namespace FlowWatch.Cli.Terminal;

/// <summary>One way to write durations, ages and shares everywhere on the terminal: "45s", "2m", "1h5m", "63% (279 of 462)".</summary>
public static class Units
{
    public static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.Zero) span = TimeSpan.Zero;
        var s = (long)span.TotalSeconds;
        if (s < 60) return $"{s}s";
        if (s < 3600) return $"{s / 60}m";
        if (s < 86400) return s % 3600 / 60 == 0 ? $"{s / 3600}h" : $"{s / 3600}h{s % 3600 / 60}m";
        return s % 86400 / 3600 == 0 ? $"{s / 86400}d" : $"{s / 86400}d{s % 86400 / 3600}h";
    }

    public static string Age(DateTimeOffset time, DateTimeOffset now) => Duration(now - time);

    /// <summary>A share computed from the two counts it is shown with, so the figure and its counts always agree.</summary>
    public static string Percent(long part, long whole) =>
        whole <= 0 ? "-" : (100.0 * part / whole).ToString(part == whole || part == 0 ? "0" : "0.#", CultureInfo.InvariantCulture) + "%";

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
