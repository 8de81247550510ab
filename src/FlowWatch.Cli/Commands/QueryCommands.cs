namespace FlowWatch.Cli.Commands;

/// <summary>The query commands; the store and API behind them are not in this build yet.</summary>
public static class QueryCommands
{
    public static Task<int> FlowsAsync(string[] argv, CancellationToken ct) => NotYet("flows");
    public static Task<int> FindingsAsync(string[] argv, CancellationToken ct) => NotYet("findings");
    public static Task<int> HealthAsync(string[] argv, CancellationToken ct) => NotYet("health");
    public static Task<int> BackendsAsync(string[] argv, CancellationToken ct) => NotYet("backends");

    private static Task<int> NotYet(string name)
    {
        Console.Error.WriteLine($"flowwatch {name}: the query API is not in this build yet; use /metrics or the progress lines of watch/demo.");
        return Task.FromResult(2);
    }
}
