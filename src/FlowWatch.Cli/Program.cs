using FlowWatch.Cli.CommandLine;
using FlowWatch.Cli.Commands;

namespace FlowWatch.Cli;

/// <summary>The <c>flowwatch</c> entry point: one verb per command, each with its own --help.</summary>
public static class Program
{
    private static readonly (string Name, string Summary, Func<string[], CancellationToken, Task<int>> Run)[] Commands =
    [
        ("demo", "Run the built-in simulated cluster and watch it live (start here).", DemoCommand.RunAsync),
        ("watch", "Watch a real Hubble Relay or agent socket.", WatchCommand.RunAsync),
        ("replay", "Run recorded flows (hubble observe -o jsonpb/json, plain or gzip) through the detectors and report.", ReplayCommand.RunAsync),
        ("simulate", "Serve the simulated cluster's flows over gRPC, as a Hubble Relay would.", SimulateCommand.RunAsync),
        ("flows", "Recent flows from a running FlowWatch, like hubble observe.", QueryCommands.FlowsAsync),
        ("findings", "Open and recently resolved findings from a running FlowWatch.", QueryCommands.FindingsAsync),
        ("health", "Everything a running FlowWatch knows about one pod.", QueryCommands.HealthAsync),
        ("backends", "Per-backend health behind a NodePort/LoadBalancer service.", QueryCommands.BackendsAsync),
    ];

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help" && args.Length == 1)
        {
            // No command is a usage error (exit 2, as for a shell builtin); asking for help is not.
            if (args.Length == 0) { Console.Error.Write(Usage()); return 2; }
            Console.Out.Write(Usage());
            return 0;
        }
        var name = args[0] == "help" ? args[1] : args[0];
        var rest = args[0] == "help" ? ["--help"] : args[1..];
        var command = Commands.FirstOrDefault(c => c.Name == name);
        if (command.Run is null)
        {
            await Console.Error.WriteLineAsync($"flowwatch: unknown command '{name}'. Commands: {string.Join(", ", Commands.Select(c => c.Name))}. Run 'flowwatch --help'.");
            return 1;
        }
        KeepThreadPoolThreadsAtHand();
        using var shutdown = new ShutdownSignal();
        try
        {
            return await command.Run(rest, shutdown.Token);
        }
        catch (UsageException e)
        {
            await Console.Error.WriteLineAsync($"flowwatch {name}: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
        {
            return 0;
        }
        catch (Exception e) when (shutdown.Token.IsCancellationRequested)
        {
            // Failing while stopping is an error to report, not a crash: no unhandled exception, no abort (exit 134).
            await Console.Error.WriteLineAsync($"flowwatch {name}: failed while stopping: {e}");
            return 1;
        }
        finally
        {
            Hosting.StopTrace.Mark("command returned");
            Hosting.StopTrace.Report();
        }
    }

    /// <summary>Lets the thread pool start a few more threads at once, without its half-second wait per thread.</summary>
    /// <remarks>A detector stuck on a flow holds a pool thread (the pump's), and on 2 cores the pool has 2 before it starts
    /// adding one every half second: a stop then waited 200-500 ms for a thread to run its timers and continuations on
    /// (seen with FLOWWATCH_STOP_TRACE under load). Threads are only made when work waits, and idle ones retire.</remarks>
    private static void KeepThreadPoolThreadsAtHand()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 8), io);
    }

    private static string Usage() =>
        "flowwatch — finds what Hubble's flows hide: dropped DNS lookups, duplicate pod IPs,\n" +
        "asymmetric (rp_filter) drops and unhealthy NodePort backends.\n\n" +
        "Usage: flowwatch <command> [options]\n\nCommands:\n" +
        string.Concat(Commands.Select(c => $"  {c.Name,-10} {c.Summary}\n")) +
        "\nRun 'flowwatch <command> --help' for a command's options.\n";
}
