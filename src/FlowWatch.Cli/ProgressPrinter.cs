using FlowWatch.Cli.Terminal;
using FlowWatch.Findings;

namespace FlowWatch.Cli;

/// <summary>Status for logs and pipes (not a terminal): a progress line every period and one structured line per finding opened or resolved.</summary>
/// <remarks>No escape codes: the output is read by <c>kubectl logs</c>, CI and log pipelines. Finding lines are logfmt
/// (<c>key=value</c>, values with spaces quoted), so they can be grepped and parsed.</remarks>
public sealed class ProgressPrinter : IStatusDisplay
{
    private readonly WatchStatus _status;
    private readonly TextWriter _out;
    private readonly IDisposable _findings;
    private readonly object _gate = new();
    private readonly HashSet<string> _shown = [];

    public ProgressPrinter(WatchStatus status, TextWriter output)
    {
        _status = status;
        _out = output;
        // Findings restored from a checkpoint are not news when their detector raises them again.
        foreach (var f in status.Pipeline.Book.OpenFindings) _shown.Add(f.Id);
        _findings = status.Pipeline.Findings.Subscribe(OnFinding);
    }

    public async Task RunAsync(TimeSpan every, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false)) Write(StatusLine(_status.Read()));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    /// <summary>The last progress line, at shutdown: totals, and the average rate since start.</summary>
    public void WriteFinal() => Write(StatusLine(_status.Final()));

    public static string StatusLine(StatusReading r) =>
        $"{r.At:HH:mm:ss}  flows {r.Flows,12:N0}  {r.FlowsPerSecond,9:N0}/s  fwd {r.Forwarded:N0}  drop {r.Dropped:N0}  " +
        $"| {r.Connection} | lost {r.Lost:N0} | shed {r.Shed:N0} | lag {r.LagText} | open findings {r.OpenFindings.Count}";

    private void OnFinding(Finding f)
    {
        // Updates of an open finding are not news; opening and resolving are.
        if (f.State == FindingState.Open ? !_shown.Add(f.Id) : !_shown.Remove(f.Id)) return;
        Write(FindingLine(f, DateTimeOffset.Now));
    }

    public static string FindingLine(Finding f, DateTimeOffset at) =>
        $"{at:HH:mm:ss}  event={(f.State == FindingState.Open ? "finding_opened" : "finding_resolved")} " +
        $"severity={f.Severity.ToString().ToLowerInvariant()} kind={Finding.KindName(f.Kind)} " +
        $"subject={Quote(Commands.QueryTables.Subject(f.Subject))} id={Quote(f.Id)} summary={Quote(f.Summary)}";

    private static string Quote(string value) =>
        value.Length > 0 && value.All(c => c > ' ' && c != '"' && c != '=') ? value : "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private void Write(string line)
    {
        lock (_gate) _out.WriteLine(line);
    }

    public void Dispose() => _findings.Dispose();
}
