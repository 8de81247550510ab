using FlowWatch.Cli.Terminal;
using FlowWatch.Findings;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Cli.Logging;

/// <summary>The status as log records (with <c>--log-format json</c>): a progress record every period and one per finding opened or resolved.</summary>
public sealed partial class LoggingStatusDisplay : IStatusDisplay
{
    private readonly WatchStatus _status;
    private readonly ILogger _progress;
    private readonly ILogger _findingsLog;
    private readonly IDisposable _findings;
    private readonly HashSet<string> _shown = [];

    public LoggingStatusDisplay(WatchStatus status, ILoggerFactory logs)
    {
        _status = status;
        _progress = logs.CreateLogger("flowwatch.progress");
        _findingsLog = logs.CreateLogger("flowwatch.findings");
        foreach (var f in status.Pipeline.Book.OpenFindings) _shown.Add(f.Id);
        _findings = status.Pipeline.Findings.Subscribe(OnFinding);
    }

    public async Task RunAsync(TimeSpan every, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false)) Log(_status.Read());
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    public void WriteFinal() => Log(_status.Final());

    private void Log(StatusReading r) =>
        Progress(_progress, r.Flows, Math.Round(r.FlowsPerSecond), r.Forwarded, r.Dropped, r.Connection, r.Lost, r.Shed, r.LagText, r.OpenFindings.Count);

    private void OnFinding(Finding f)
    {
        lock (_shown)
            if (f.State == FindingState.Open ? !_shown.Add(f.Id) : !_shown.Remove(f.Id)) return;
        var kind = Finding.KindName(f.Kind);
        var severity = f.Severity.ToString().ToLowerInvariant();
        var subject = Commands.QueryTables.Subject(f.Subject);
        if (f.State == FindingState.Open) Opened(_findingsLog, severity, kind, subject, f.Id, f.Summary);
        else Resolved(_findingsLog, severity, kind, subject, f.Id);
    }

    [LoggerMessage(1, LogLevel.Information, "flows {Flows} at {FlowsPerSecond}/s, forwarded {Forwarded}, dropped {Dropped}; {Connection}; lost {Lost}, shed {Shed}, event-time lag {Lag}; open findings {OpenFindings}")]
    private static partial void Progress(ILogger logger, long flows, double flowsPerSecond, long forwarded, long dropped, string connection, ulong lost, long shed, string lag, int openFindings);

    [LoggerMessage(2, LogLevel.Warning, "finding opened: {Severity} {Kind} {Subject} ({Id}): {Summary}")]
    private static partial void Opened(ILogger logger, string severity, string kind, string subject, string id, string summary);

    [LoggerMessage(3, LogLevel.Information, "finding resolved: {Severity} {Kind} {Subject} ({Id})")]
    private static partial void Resolved(ILogger logger, string severity, string kind, string subject, string id);

    public void Dispose() => _findings.Dispose();
}
