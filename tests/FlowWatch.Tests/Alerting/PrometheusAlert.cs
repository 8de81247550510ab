namespace FlowWatch.Tests.Alerting;

/// <summary>One entry of Prometheus' /api/v1/alerts: an alert that is pending or firing.</summary>
public sealed record PrometheusAlert(
    string Name, string State, IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Annotations, string Value)
{
    public bool IsActive => State is "pending" or "firing";

    public override string ToString() =>
        $"{Name} {State} {{{string.Join(", ", Labels.Where(l => l.Key != "alertname").Select(l => $"{l.Key}={l.Value}"))}}} value={Value}";
}
