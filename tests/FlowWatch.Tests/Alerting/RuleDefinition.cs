namespace FlowWatch.Tests.Alerting;

/// <summary>One alerting or recording rule as written in rules/*.yaml.</summary>
internal sealed record RuleDefinition(
    string File,
    string Group,
    string? Alert,
    string? Record,
    string Expr,
    string? For,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations)
{
    public string Name => Alert ?? Record ?? "(unnamed)";
}
