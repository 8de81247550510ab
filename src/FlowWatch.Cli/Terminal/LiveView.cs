using FlowWatch.Findings;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace FlowWatch.Cli.Terminal;

/// <summary>The terminal view of demo/watch: a fixed header, the open findings (most severe, then oldest, first; one line
/// each, cut to the width) and a short log of findings opened and resolved, redrawn in place.</summary>
/// <remarks>Spectre.Console's live display does the redrawing, so there are no hand-written escape codes; every line is
/// cut here to the console's width, so that nothing wraps and the layout never moves.</remarks>
public sealed class LiveView : IStatusDisplay
{
    private const int EventLogLines = 5;
    private const int LogLines = 3;
    private static readonly TimeSpan EventFlash = TimeSpan.FromSeconds(60);

    private readonly WatchStatus _status;
    private readonly IAnsiConsole _console;
    private readonly string _title;
    private readonly IDisposable _findings;
    private readonly object _gate = new();
    private readonly HashSet<string> _shown = [];
    private readonly Queue<(DateTimeOffset At, Finding Finding)> _events = new();

    public LiveView(WatchStatus status, IAnsiConsole console, string title)
    {
        _status = status;
        _console = console;
        _title = title;
        foreach (var f in status.Pipeline.Book.OpenFindings) _shown.Add(f.Id);
        _findings = status.Pipeline.Findings.Subscribe(OnFinding);
    }

    public async Task RunAsync(TimeSpan every, CancellationToken ct)
    {
        var live = _console.Live(Render(_status.Read()))
            .AutoClear(false)
            .Overflow(VerticalOverflow.Ellipsis)
            .Cropping(VerticalOverflowCropping.Bottom);
        await live.StartAsync(async ctx =>
        {
            using var timer = new PeriodicTimer(every);
            try
            {
                while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
                {
                    ctx.UpdateTarget(Render(_status.Read()));
                    ctx.Refresh();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        }).ConfigureAwait(false);
        // The screen is the terminal's own again: the messages the view showed in part go to stderr in full.
        Logging.LiveViewLog.Shared.Release();
    }

    public void WriteFinal() => _console.WriteLine(ProgressPrinter.StatusLine(_status.Final()));

    /// <summary>The whole screen for one reading, each line at most the console's width.</summary>
    public IRenderable Render(StatusReading r)
    {
        var width = Math.Max(40, _console.Profile.Width);
        var height = Math.Max(12, _console.Profile.Height);
        var now = _status.EventNow;
        var lines = new List<IRenderable>();
        var total = Math.Max(1, r.Flows);
        var critical = r.OpenFindings.Count(f => f.Severity == Severity.Critical);
        var warning = r.OpenFindings.Count(f => f.Severity == Severity.Warning);
        var info = r.OpenFindings.Count - critical - warning;
        string[] header =
        [
            $"{_title}   {r.At:HH:mm:ss}",
            $"{r.Connection}",
            $"flows {r.Flows:N0}   {r.FlowsPerSecond:N0}/s   forwarded {Units.Percent(r.Forwarded, total)}   dropped {Units.Percent(r.Dropped, total)}   other {Units.Percent(r.OtherVerdicts, total)}",
            $"lost {r.Lost:N0}   shed {r.Shed:N0}   event-time lag {r.LagText}   open findings {r.OpenFindings.Count} ({critical} critical, {warning} warning, {info} info)",
        ];
        foreach (var h in header) lines.Add(new Text(TextWidth.Cut(h, width), new Style(decoration: Decoration.Bold)));
        lines.Add(new Text(new string('─', width), new Style(Color.Grey)));

        var open = Commands.QueryTables.Sorted(r.OpenFindings).ToList();
        var room = Math.Max(1, height - header.Length - EventLogLines - LogLines - 4);
        if (open.Count == 0) lines.Add(new Text("no open findings", new Style(Color.Green)));
        else
        {
            var shown = open.Count > room ? open.Take(room - 1).ToList() : open;
            var rows = new List<string[]> { new[] { "SEVERITY", "KIND", "SUBJECT", "AGE", "SUMMARY" } };
            foreach (var f in shown)
                rows.Add([f.Severity.ToString().ToLowerInvariant(), Finding.KindName(f.Kind), Commands.QueryTables.Subject(f.Subject), Units.Age(f.FirstSeen, now), f.Summary]);
            var table = Commands.QueryTables.Table(rows, width, cuttable: [2, 4]).TrimEnd('\n').Split('\n');
            lines.Add(new Text(table[0], new Style(Color.Grey)));
            for (var i = 0; i < shown.Count; i++) lines.Add(new Text(TextWidth.Cut(table[i + 1], width), SeverityStyle(shown[i].Severity)));
            if (shown.Count < open.Count)
                lines.Add(new Text(TextWidth.Cut($"… {open.Count - shown.Count} more: flowwatch findings", width), new Style(Color.Grey)));
        }

        lines.Add(new Text(new string('─', width), new Style(Color.Grey)));
        List<(DateTimeOffset At, Finding Finding)> recent;
        lock (_gate)
        {
            while (_events.Count > 0 && DateTimeOffset.Now - _events.Peek().At > EventFlash) _events.Dequeue();
            recent = [.. _events];
        }
        if (recent.Count == 0) lines.Add(new Text("no findings opened or resolved in the last minute", new Style(Color.Grey)));
        foreach (var (at, f) in recent)
        {
            var opened = f.State == FindingState.Open;
            var text = $"{at:HH:mm:ss} {(opened ? "▲ opened  " : "▼ resolved")} {f.Severity.ToString().ToLowerInvariant()} {Finding.KindName(f.Kind)} {Commands.QueryTables.Subject(f.Subject)}";
            lines.Add(new Text(TextWidth.Cut(text, width), opened ? SeverityStyle(f.Severity) : new Style(Color.Green)));
        }
        foreach (var message in Logging.LiveViewLog.Shared.Recent(LogLines))
            lines.Add(new Text(TextWidth.Cut(message, width), new Style(Color.Yellow)));
        return new Rows(lines);
    }

    private static Style SeverityStyle(Severity s) => s switch
    {
        Severity.Critical => new Style(Color.Red),
        Severity.Warning => new Style(Color.Yellow),
        _ => Style.Plain,
    };

    private void OnFinding(Finding f)
    {
        if (f.State == FindingState.Open ? !_shown.Add(f.Id) : !_shown.Remove(f.Id)) return;
        lock (_gate)
        {
            _events.Enqueue((DateTimeOffset.Now, f));
            while (_events.Count > EventLogLines) _events.Dequeue();
        }
    }

    public void Dispose()
    {
        _findings.Dispose();
        Logging.LiveViewLog.Shared.Release();
    }
}
