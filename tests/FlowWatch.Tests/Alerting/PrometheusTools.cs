namespace FlowWatch.Tests.Alerting;

/// <summary>Finds Debian's prometheus and promtool; a missing binary fails the test (never skips) and says how to get it.</summary>
internal static class PrometheusTools
{
    public static string Promtool => Find("promtool");

    public static string Prometheus => Find("prometheus");

    public static string MissingMessage(string tool) =>
        $"{tool} not found on PATH or in /usr/bin. Run ./test.sh, which installs Debian's 'prometheus' package " +
        "(it provides /usr/bin/prometheus and /usr/bin/promtool), or: sudo apt-get install prometheus";

    private static string Find(string tool) =>
        Find(tool, (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin").Append("/usr/local/bin"));

    internal static string Find(string tool, IEnumerable<string> dirs)
    {
        foreach (var dir in dirs)
        {
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate)) return candidate;
        }
        Assert.Fail(MissingMessage(tool));
        return null!;
    }
}
