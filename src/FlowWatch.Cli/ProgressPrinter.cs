using System.Diagnostics;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Pipeline;

namespace FlowWatch.Cli;

/// <summary>Live terminal status: a progress line every few seconds and a line whenever a finding opens or resolves.</summary>
public sealed class ProgressPrinter : IDisposable
{
    private readonly FlowPipeline _pipeline;
    private readonly FlowIntake _intake;
    private readonly Func<string> _connection;
    private readonly TextWriter _out;
    private readonly IDisposable _findings;
    private readonly object _gate = new();
    private readonly Stopwatch _since = Stopwatch.StartNew();

    public ProgressPrinter(FlowPipeline pipeline, FlowIntake intake, Func<string> connection, TextWriter output)
    {
        _pipeline = pipeline;
        _intake = intake;
        _connection = connection;
        _out = output;
        // Findings restored from a checkpoint are not news when their detector raises them again.
        foreach (var f in pipeline.Book.OpenFindings) _shown.Add(f.Id);
        _findings = pipeline.Findings.Subscribe(OnFinding);
    }

    /// <summary>Lost events Hubble reported, for the status line.</summary>
    public Func<ulong> LostEvents { get; init; } = () => 0;

    public async Task RunAsync(TimeSpan every, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        long lastFlows = 0;
        var lastTime = TimeSpan.Zero;
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                var now = clock.Elapsed;
                var flows = _pipeline.Stats.Flows;
                var rate = (flows - lastFlows) / Math.Max(0.001, (now - lastTime).TotalSeconds);
                lastFlows = flows;
                lastTime = now;
                Write(StatusLine(flows, rate));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    /// <summary>The last progress line, at shutdown: totals, and the average rate since start.</summary>
    public void WriteFinal()
    {
        var flows = _pipeline.Stats.Flows;
        Write(StatusLine(flows, flows / Math.Max(0.001, _since.Elapsed.TotalSeconds)));
    }

    public string StatusLine(long flows, double rate)
    {
        var s = _pipeline.Stats;
        var open = _pipeline.Book.OpenFindings.Count;
        return $"{DateTime.Now:HH:mm:ss}  flows {flows,12:N0}  {rate,9:N0}/s  " +
               $"fwd {s.ByVerdict(Verdict.Forwarded):N0}  drop {s.ByVerdict(Verdict.Dropped):N0}  " +
               $"| {_connection()} | lost {LostEvents():N0} | shed {_intake.Shed:N0} | open findings {open}";
    }

    private readonly HashSet<string> _shown = [];

    private void OnFinding(Finding f)
    {
        // Updates of an open finding are not news on the terminal; opening and resolving are.
        if (f.State == FindingState.Open ? !_shown.Add(f.Id) : !_shown.Remove(f.Id)) return;
        var mark = f.State == FindingState.Open ? "▲ OPEN    " : "▼ RESOLVED";
        Write($"{DateTime.Now:HH:mm:ss}  {mark} [{f.Severity.ToString().ToLowerInvariant()}] {Finding.KindName(f.Kind)}: {f.Summary}");
    }

    private void Write(string line)
    {
        lock (_gate) _out.WriteLine(line);
    }

    public void Dispose() => _findings.Dispose();
}
