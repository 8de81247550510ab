using FlowWatch.Detectors.DuplicateIp;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using FlowWatch.Pipeline;
using FlowWatch.Tests.Detectors.Dns;
using Prometheus;

namespace FlowWatch.Tests.Detectors.DuplicateIp;

/// <summary>A duplicate-IP detector inside a real <see cref="FlowPipeline"/>, in virtual time from <see cref="DupFlows.T0"/>.</summary>
internal sealed class DupHarness : IDisposable
{
    public DupHarness(DuplicateIpOptions? options = null)
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Detector = new DuplicateIpDetector(options);
        Pipeline = new FlowPipeline([Detector], Prometheus.Metrics.WithCustomRegistry(Registry));
        Pipeline.Findings.Subscribe(Findings.Add);
        Pipeline.Start(DupFlows.T0);
    }

    public CollectorRegistry Registry { get; }
    public DuplicateIpDetector Detector { get; }
    public FlowPipeline Pipeline { get; }
    public List<Finding> Findings { get; } = [];

    public DateTimeOffset At(double seconds) => DupFlows.T0.AddSeconds(seconds);

    public void Push(FlowRecord flow) => Pipeline.Process(flow);

    public void Apply(ClusterEvent change) => Pipeline.Apply(change);

    public void AdvanceTo(double seconds) => Pipeline.AdvanceTo(At(seconds));

    public double DuplicateIpsGauge => MetricText.Value(Registry, "flowwatch_duplicate_ips") ?? double.NaN;

    public double UnmanagedGauge(string node) => MetricText.Value(Registry, "flowwatch_unmanaged_pods", ("node", node)) ?? 0;

    public Finding? Latest(FindingKind kind, string ip) => Findings.LastOrDefault(f => f.Kind == kind && f.Subject.Ip == ip);

    public void Dispose() => Pipeline.Dispose();
}
