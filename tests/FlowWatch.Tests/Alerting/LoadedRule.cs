namespace FlowWatch.Tests.Alerting;

/// <summary>One rule as a running Prometheus reports it (/api/v1/rules).</summary>
public sealed record LoadedRule(string Name, string Type, DateTimeOffset? LastEvaluation, string? Error);
