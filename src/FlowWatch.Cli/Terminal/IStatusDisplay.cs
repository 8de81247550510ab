namespace FlowWatch.Cli.Terminal;

/// <summary>How a running watcher shows its status: the live view on a terminal, progress lines elsewhere.</summary>
public interface IStatusDisplay : IDisposable
{
    /// <summary>Updates every <paramref name="every"/> until cancelled.</summary>
    Task RunAsync(TimeSpan every, CancellationToken ct);

    /// <summary>The last status, at shutdown, as a plain line that stays in the scrollback.</summary>
    void WriteFinal();
}
