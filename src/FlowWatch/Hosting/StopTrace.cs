using System.Diagnostics;
using System.Runtime;

namespace FlowWatch.Hosting;

/// <summary>Where a shutdown's time and CPU go, phase by phase: off unless FLOWWATCH_STOP_TRACE=1, then printed on stderr at exit.</summary>
/// <remarks>
/// Each mark records the wall time since the signal, the process's CPU time, the methods the JIT compiled and the time it
/// spent, and the garbage collections so far; the report adds each thread's CPU during the stop (from /proc). It is how the
/// stop path was made cheap enough to end within a second on a loaded machine: a phase that costs CPU under load costs
/// wall time many times over. Disabled, a mark is one static read.
/// </remarks>
public static class StopTrace
{
    /// <summary>The variable that turns the trace on (any non-empty value but 0).</summary>
    public const string Variable = "FLOWWATCH_STOP_TRACE";

    public static readonly bool Enabled = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } v && v != "0";

    private static readonly Lock Gate = new();
    private static readonly List<string> Lines = [];
    private static long _began;
    private static TimeSpan _cpu;
    private static long _jitCount;
    private static TimeSpan _jitTime;
    private static int _gcs;
    private static Dictionary<int, (string Name, long Ticks)> _threads = [];
    private static int _reported;

    /// <summary>The signal: the moment every later mark is measured from.</summary>
    public static void Begin()
    {
        if (!Enabled) return;
        lock (Gate)
        {
            if (_began != 0) return;
            _threads = ThreadTicks();
            _cpu = Environment.CpuUsage.TotalTime;
            _jitCount = System.Runtime.JitInfo.GetCompiledMethodCount();
            _jitTime = System.Runtime.JitInfo.GetCompilationTime();
            _gcs = GC.CollectionCount(0);
            _began = Stopwatch.GetTimestamp();
        }
        // The runtime's own exit, after Main returned or the backstop's Environment.Exit: its ProcessExit handlers run here.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            Console.Error.WriteLine($"stop trace: {Stopwatch.GetElapsedTime(_began).TotalMilliseconds,7:0.0} ms  cpu {(Environment.CpuUsage.TotalTime - _cpu).TotalMilliseconds,6:0} ms  process exit begins");
            Console.Error.Flush();
        };
        Mark($"signal (methods compiled before it: {_jitCount:N0})");
    }

    /// <summary>Records that <paramref name="phase"/> was reached (or ended), on the calling thread.</summary>
    public static void Mark(string phase)
    {
        if (!Enabled) return;
        var at = Stopwatch.GetTimestamp();
        var cpu = Environment.CpuUsage.TotalTime;
        var jits = System.Runtime.JitInfo.GetCompiledMethodCount();
        var jitTime = System.Runtime.JitInfo.GetCompilationTime();
        var gcs = GC.CollectionCount(0);
        lock (Gate)
        {
            if (_began == 0) return;
            Lines.Add($"stop trace: {Stopwatch.GetElapsedTime(_began, at).TotalMilliseconds,7:0.0} ms  cpu {(cpu - _cpu).TotalMilliseconds,6:0} ms  " +
                      $"jit {jits - _jitCount,5} methods {(jitTime - _jitTime).TotalMilliseconds,5:0} ms  gc0 {gcs - _gcs,2}  " +
                      $"[{Thread.CurrentThread.Name ?? (Thread.CurrentThread.IsThreadPoolThread ? "pool" : "thread")}] {phase}");
        }
    }

    /// <summary>Writes the marks and each thread's CPU during the stop to stderr, once.</summary>
    public static void Report()
    {
        if (!Enabled || _began == 0 || Interlocked.Exchange(ref _reported, 1) == 1) return;
        Mark("report");
        var now = ThreadTicks();
        lock (Gate)
        {
            foreach (var line in Lines) Console.Error.WriteLine(line);
            var tick = 1000.0 / 100; // /proc reports clock ticks of 1/100 s
            foreach (var (tid, (name, ticks)) in now.OrderByDescending(t => t.Value.Ticks - _threads.GetValueOrDefault(t.Key).Ticks))
            {
                var spent = ticks - _threads.GetValueOrDefault(tid).Ticks;
                if (spent > 0) Console.Error.WriteLine($"stop trace: thread {tid} {name}: {spent * tick:0} ms cpu during the stop");
            }
        }
        Console.Error.Flush();
    }

    private static Dictionary<int, (string Name, long Ticks)> ThreadTicks()
    {
        var threads = new Dictionary<int, (string, long)>();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var close = stat.LastIndexOf(')');
                    var name = stat[(stat.IndexOf('(') + 1)..close];
                    var fields = stat[(close + 2)..].Split(' ');
                    // Fields after the name: state is 0, utime is 11, stime is 12.
                    threads[int.Parse(Path.GetFileName(dir))] = (name, long.Parse(fields[11]) + long.Parse(fields[12]));
                }
                catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException) { }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return threads;
    }
}
