using System.Runtime.InteropServices;

namespace FlowWatch.Cli;

/// <summary>Turns Ctrl+C and SIGTERM into one cancellation token, so every command shuts down gracefully; a second signal ends the process at once.</summary>
public sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly PosixSignalRegistration _term;
    private readonly PosixSignalRegistration _int;

    public ShutdownSignal()
    {
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
    }

    public CancellationToken Token => _cts.Token;

    private void OnSignal(PosixSignalContext context)
    {
        // A second signal: the user means it; let the runtime end the process now.
        if (_cts.IsCancellationRequested) return;
        // Keep the process alive: the command stops intake, flushes and exits on its own.
        context.Cancel = true;
        _cts.Cancel();
    }

    public void Dispose()
    {
        _term.Dispose();
        _int.Dispose();
        _cts.Dispose();
    }
}
