namespace FlowWatch.Cli.Commands;

/// <summary>Placeholder until the flow sources land.</summary>
public static class SimulateCommand
{
    public static Task<int> RunAsync(string[] argv, CancellationToken ct)
    {
        Console.Error.WriteLine("not wired yet");
        return Task.FromResult(2);
    }
}
