namespace FlowWatch.Benchmarks;

/// <summary>The state of the shared machine, printed beside figures so a reader can judge them.</summary>
public static class Machine
{
    public static string GcMode() =>
        $"{(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC, " +
        $"{(System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.Batch ? "not concurrent" : "concurrent")}";

    public static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
    }
}
