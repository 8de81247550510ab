namespace FlowWatch.Cli.Commands;

/// <summary>Placeholder until the query API lands.</summary>
public static class QueryCommands
{
    public static Task<int> FlowsAsync(string[] argv, CancellationToken ct) => Task.FromResult(2);
    public static Task<int> FindingsAsync(string[] argv, CancellationToken ct) => Task.FromResult(2);
    public static Task<int> HealthAsync(string[] argv, CancellationToken ct) => Task.FromResult(2);
    public static Task<int> BackendsAsync(string[] argv, CancellationToken ct) => Task.FromResult(2);
}
