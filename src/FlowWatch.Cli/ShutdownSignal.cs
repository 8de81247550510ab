using System.Runtime.InteropServices;

namespace FlowWatch.Cli;

/// <summary>Turns Ctrl+C and SIGTERM into one cancellation token, so every command shuts down gracefully within a deadline; a second signal ends the process at once.</summary>
/// <remarks>
/// The graceful path (stop intake, finish what is queued, write the checkpoint) normally ends well inside the deadline. What
/// it cannot bound is work already running on the pipeline thread: a detector slow on one flow, a burst of timers. So the
/// first signal also starts a timer: at <see cref="Deadline"/> the actions registered with <see cref="AtDeadline"/> run
/// (the checkpoint is written, a line says why) and the process exits 0, whatever is still running. Only the process
/// entry point creates one; code hosted in a test process never sees its deadline.
/// </remarks>
public sealed class ShutdownSignal : IDisposable
{
    /// <summary>From the first signal to exit, at most: within the second an orchestrator or a person at a terminal expects.</summary>
    /// <remarks>A backstop, not yet the one second: on the loaded 2-core machine the graceful stop of a demo alone
    /// measured over 750 ms.</remarks>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    private static readonly Lock Gate = new();
    private static readonly List<Action> Finals = [];
    private static ShutdownSignal? _current;

    private readonly CancellationTokenSource _cts = new();
    private readonly PosixSignalRegistration _term;
    private readonly PosixSignalRegistration _int;
    private Timer? _deadline;

    public ShutdownSignal()
    {
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        lock (Gate) _current = this;
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>
    /// Registers what must happen even when the graceful path misses the deadline (write the checkpoint); runs once, on the
    /// timer's thread, so it must be thread-safe. Dispose the result once the graceful path has done it itself.
    /// </summary>
    public static IDisposable AtDeadline(Action action)
    {
        lock (Gate) Finals.Add(action);
        return new Registration(action);
    }

    private void OnSignal(PosixSignalContext context)
    {
        // A second signal: the user means it. Left to the runtime, the process went on with its graceful stop (exit 0 at the
        // deadline), so end it here, with the shell's code for death by that signal.
        if (_cts.IsCancellationRequested) Environment.Exit(128 + (context.Signal == PosixSignal.SIGINT ? 2 : 15));
        // Keep the process alive: the command stops intake, flushes and exits on its own.
        context.Cancel = true;
        _deadline = new Timer(_ => AtDeadlineExit(), null, Deadline, Timeout.InfiniteTimeSpan);
        _cts.Cancel();
    }

    private static void AtDeadlineExit()
    {
        Action[] finals;
        lock (Gate)
        {
            if (_current is null) return;
            finals = [.. Finals];
        }
        foreach (var final in finals)
        {
            try { final(); }
            catch (Exception e) { Console.Error.WriteLine($"flowwatch: at the shutdown deadline: {e.GetType().Name}: {e.Message}"); }
        }
        Console.Out.Flush();
        Console.Error.Flush();
        Environment.Exit(0);
    }

    public void Dispose()
    {
        lock (Gate) if (ReferenceEquals(_current, this)) _current = null;
        _deadline?.Dispose();
        _term.Dispose();
        _int.Dispose();
        _cts.Dispose();
    }

    private sealed class Registration(Action action) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate) Finals.Remove(action);
        }
    }
}
