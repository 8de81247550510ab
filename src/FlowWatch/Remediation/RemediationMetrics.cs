using Prometheus;

namespace FlowWatch.Remediation;

/// <summary><c>flowwatch_remediation_total{action,reason}</c>: every eviction, dry-run and refusal, counted once per pod and outcome.</summary>
public sealed class RemediationMetrics(IMetricFactory metrics)
{
    public Counter Decisions { get; } = metrics.CreateCounter("flowwatch_remediation_total",
        "Remediation decisions about unmanaged pods, by action (evict, dry_run, refuse) and reason.",
        new CounterConfiguration { LabelNames = ["action", "reason"] });
}
