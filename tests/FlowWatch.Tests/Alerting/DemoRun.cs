using System.Diagnostics;

namespace FlowWatch.Tests.Alerting;

/// <summary>One end-to-end run: <c>flowwatch demo</c> as a child process, a real Prometheus scraping it every second
/// with rules/ loaded (for: divided by <see cref="ForDivisor"/>), and a record of every alert seen and when.</summary>
/// <remarks>
/// Why the for: is shortened: the production for: (1m for scenario alerts, 1-2m for FlowWatch's health) would make
/// two runs take over five minutes. Only for: changes (see <see cref="ScaledRuleFiles"/>); every expression is the
/// repository's, evaluated on the demo's real metrics. Times are read from the demo's start.
/// </remarks>
public sealed class DemoRun : IAsyncDisposable
{
    /// <summary>1m → 10 s, 2m → 20 s.</summary>
    public const int ForDivisor = 6;

    /// <summary>The cluster label the scrape config gives the demo's target.</summary>
    public const string ScrapeCluster = "demo";

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
    private readonly Dictionary<string, SeenAlert> _seen = new(StringComparer.Ordinal);

    private DemoRun(string scenarios, ScaledRuleFiles rules, DemoProcess demo, PrometheusHarness prometheus)
    {
        PrometheusReadyAt = demo.Clock.Elapsed;
        Scenarios = scenarios;
        Rules = rules;
        Demo = demo;
        Prometheus = prometheus;
    }

    public string Scenarios { get; }

    public ScaledRuleFiles Rules { get; }

    public DemoProcess Demo { get; }

    public PrometheusHarness Prometheus { get; }

    /// <summary>When Prometheus answered ready (and began evaluating rules), from the demo's start.</summary>
    public TimeSpan PrometheusReadyAt { get; }

    /// <summary>How long the run was observed, from the demo's start.</summary>
    public TimeSpan Observed { get; private set; }

    /// <summary>Every alert instance (name and labels) seen pending or firing, with when it was first seen in each state.</summary>
    public IReadOnlyCollection<SeenAlert> Seen => _seen.Values;

    /// <summary>Names of the alerts on FlowWatch's own health (the flowwatch-self group).</summary>
    public static IReadOnlySet<string> HealthAlertNames { get; } =
        RuleFiles.Alerts.Where(a => a.Group == "flowwatch-self").Select(a => a.Alert!).ToHashSet(StringComparer.Ordinal);

    public static async Task<DemoRun> StartAsync(string scenarios)
    {
        var rules = ScaledRuleFiles.Write(ForDivisor);
        DemoProcess? demo = null;
        try
        {
            demo = await DemoProcess.StartAsync(scenarios);
            // The scrape config names the cluster, as a platform team's does; a cluster label FlowWatch sets itself wins.
            var prometheus = await PrometheusHarness.StartAsync(demo.MetricsUri, rules.Paths, TimeSpan.FromSeconds(1),
                targetLabels: new Dictionary<string, string> { ["cluster"] = ScrapeCluster });
            return new DemoRun(scenarios, rules, demo, prometheus);
        }
        catch
        {
            if (demo is not null) await demo.DisposeAsync();
            rules.Dispose();
            throw;
        }
    }

    /// <summary>Polls Prometheus' alerts until every <paramref name="expected"/> alert fires and Prometheus has been
    /// evaluating rules for at least <paramref name="minimum"/>, or until <paramref name="deadline"/> from the demo's
    /// start has passed as well as the minimum. Returns normally either way; the tests judge what was seen.
    /// Throws if the demo or Prometheus dies.</summary>
    public async Task ObserveAsync(IReadOnlyList<ExpectedAlert> expected, TimeSpan minimum, TimeSpan deadline)
    {
        while (true)
        {
            if (Demo.HasExited) throw new InvalidOperationException($"flowwatch demo exited during the run:\n{Demo.RecentLog}");
            var now = Demo.Clock.Elapsed;
            foreach (var alert in await Prometheus.AlertsAsync())
            {
                var key = alert.Name + " " + string.Join(",", alert.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
                if (!_seen.TryGetValue(key, out var seen)) _seen[key] = seen = new SeenAlert(alert, now);
                if (alert.State == "firing" && seen.FiringAt is null) seen.FiringAt = now;
            }
            Observed = Demo.Clock.Elapsed;
            if (Observed - PrometheusReadyAt >= minimum && (Observed >= deadline || expected.All(e => FiringAt(e) is not null))) return;
            await Task.Delay(PollInterval);
        }
    }

    /// <summary>When the first alert instance matching <paramref name="expected"/> was seen firing, from the demo's start.</summary>
    public TimeSpan? FiringAt(ExpectedAlert expected) =>
        _seen.Values.Where(s => s.FiringAt is not null && expected.Matches(s.Alert)).Select(s => s.FiringAt).Min();

    public async ValueTask DisposeAsync()
    {
        await Prometheus.DisposeAsync();
        await Demo.DisposeAsync();
        Rules.Dispose();
    }
}

/// <summary>An alert instance seen during a run: first seen pending or firing, and first seen firing.</summary>
public sealed class SeenAlert(PrometheusAlert alert, TimeSpan firstActiveAt)
{
    public PrometheusAlert Alert { get; } = alert;

    public TimeSpan FirstActiveAt { get; } = firstActiveAt;

    public TimeSpan? FiringAt { get; set; }

    public override string ToString() =>
        $"{Alert} (active at {FirstActiveAt.TotalSeconds:0.0} s{(FiringAt is { } f ? $", firing at {f.TotalSeconds:0.0} s" : ", never fired")})";
}
