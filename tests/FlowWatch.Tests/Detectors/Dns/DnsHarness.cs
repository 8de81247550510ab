using FlowWatch.Detectors.Dns;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Pipeline;
using Prometheus;

namespace FlowWatch.Tests.Detectors.Dns;

/// <summary>A DNS detector inside a real <see cref="FlowPipeline"/>, driven in virtual time from <see cref="DnsFlows.T0"/>.</summary>
internal sealed class DnsHarness : IDisposable
{
    public DnsHarness(DnsDropOptions? options = null)
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Detector = new DnsDropDetector(options);
        Pipeline = new FlowPipeline([Detector], Prometheus.Metrics.WithCustomRegistry(Registry));
        Pipeline.Findings.Subscribe(Findings.Add);
        Pipeline.Start(DnsFlows.T0);
    }

    public CollectorRegistry Registry { get; }
    public DnsDropDetector Detector { get; }
    public FlowPipeline Pipeline { get; }
    public List<Finding> Findings { get; } = [];

    public DateTimeOffset At(double seconds) => DnsFlows.T0.AddSeconds(seconds);

    public void Push(FlowRecord flow) => Pipeline.Process(flow);

    public void AdvanceTo(double seconds) => Pipeline.AdvanceTo(At(seconds));

    public double Dropped(string ns, string workload, string reason) =>
        MetricText.Value(Registry, "flowwatch_dns_lookups_dropped_total", ("namespace", ns), ("workload", workload), ("reason", reason)) ?? 0;

    public double Answers(string ns, string workload, string rcode) =>
        MetricText.Value(Registry, "flowwatch_dns_answers_total", ("namespace", ns), ("workload", workload), ("rcode", rcode)) ?? 0;

    public double PendingGauge => MetricText.Value(Registry, "flowwatch_dns_pending_requests") ?? double.NaN;

    public double TotalDropped() =>
        MetricText.Series(MetricText.Export(Registry), "flowwatch_dns_lookups_dropped_total")
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    public Finding? Latest(string id) => Findings.LastOrDefault(f => f.Id == id);

    public void Dispose() => Pipeline.Dispose();
}
