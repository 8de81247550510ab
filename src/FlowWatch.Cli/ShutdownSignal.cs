using System.Runtime.InteropServices;

namespace FlowWatch.Cli;

/// <summary>Turns Ctrl+C and SIGTERM into one cancellation token, so every command shuts down gracefully within a deadline; a second signal ends the process at once.</summary>
/// <remarks>
/// The graceful path (stop intake, finish what is queued for a moment, write the checkpoint, close the HTTP endpoint) is
/// bounded step by step and normally ends within about half a second. It waits for nothing it cannot bound, but on a
/// starved machine even bounded steps run late; so the first signal also wakes a backstop on a thread of its own (the
/// thread pool may be what is starved), made at start so that nothing is created at the signal: at <see cref="Deadline"/>
/// after the signal the actions registered with <see cref="AtDeadline"/> run (the checkpoint is written, a line says why)
/// and the process exits 0, whatever is still running. Only the process entry point creates one; code hosted in a test
/// process never sees its deadline.
/// </remarks>
public sealed class ShutdownSignal : IDisposable
{
    /// <summary>From the first signal to the backstop: inside the second an orchestrator or a person at a terminal expects,
    /// with room left for the backstop's own work and for the process to end.</summary>
    /// <remarks>The backstop's work is a few milliseconds of CPU (its checkpoint write is prepared at start), but on a machine
    /// loaded 20-60 deep on 2 cores a few milliseconds of CPU take tens of milliseconds, and the kernel's teardown of the
    /// process and its parent's wake-up were measured at 40-280 ms after the last line: at 900 ms a backstopped stop ended
    /// at 1,010-1,128 ms. At 750 ms it has a quarter of the second for all that.</remarks>
    public static readonly TimeSpan Deadline = TimeSpan.FromMilliseconds(750);

    private static readonly Lock Gate = new();
    private static readonly List<Action> Finals = [];
    private static ShutdownSignal? _current;

    private readonly CancellationTokenSource _cts = new();
    private readonly ManualResetEventSlim _signalledOrDisposed = new();
    private readonly ManualResetEventSlim _disposed = new();
    private readonly PosixSignalRegistration _term;
    private readonly PosixSignalRegistration _int;
    private readonly TimeSpan _deadline = Commands.TestHooks.ShutdownDeadline() ?? Deadline;
    private int _signalled;
    private long _signalledAt;

    public ShutdownSignal()
    {
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        lock (Gate) _current = this;
        new Thread(Backstop) { IsBackground = true, Name = "flowwatch shutdown deadline" }.Start();
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>
    /// Registers what must happen even when the graceful path misses the deadline (write the checkpoint); runs once, on the
    /// backstop's thread, so it must be thread-safe. Dispose the result once the graceful path has done it itself.
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
        if (Interlocked.Exchange(ref _signalled, 1) == 1) Environment.Exit(128 + (context.Signal == PosixSignal.SIGINT ? 2 : 15));
        // Keep the process alive: the command stops intake, flushes and exits on its own.
        context.Cancel = true;
        // The deadline counts from here: the backstop's thread may only get the CPU some time later.
        Volatile.Write(ref _signalledAt, System.Diagnostics.Stopwatch.GetTimestamp());
        Hosting.StopTrace.Begin();
        _signalledOrDisposed.Set();
        _cts.Cancel();
    }

    private void Backstop()
    {
        _signalledOrDisposed.Wait();
        var left = _deadline - System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref _signalledAt));
        if (_disposed.Wait(left > TimeSpan.Zero ? left : TimeSpan.Zero)) return;
        Hosting.StopTrace.Mark("backstop: deadline reached");
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
        Hosting.StopTrace.Mark("backstop: finals done");
        Hosting.StopTrace.Report();
        Console.Out.Flush();
        Console.Error.Flush();
        Environment.Exit(0);
    }

    public void Dispose()
    {
        lock (Gate) if (ReferenceEquals(_current, this)) _current = null;
        _disposed.Set();
        _signalledOrDisposed.Set();
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
