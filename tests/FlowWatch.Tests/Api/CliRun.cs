using System.Diagnostics;

namespace FlowWatch.Tests.Api;

/// <summary>Runs the real <c>flowwatch</c> executable (built beside the tests) and captures what it prints.</summary>
internal static class CliRun
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Task<Result> RunAsync(params string[] args) => RunAsync(new Dictionary<string, string>(), args);

    /// <summary>Runs with extra environment variables (FLOWWATCH_TOKEN is removed unless given, so the caller's never leaks in).</summary>
    public static async Task<Result> RunAsync(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "FlowWatch.Cli.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        start.Environment.Remove("FLOWWATCH_TOKEN");
        foreach (var (k, v) in env) start.Environment[k] = v;
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw new TimeoutException($"flowwatch {string.Join(' ', args)} did not exit within 60 s"); }
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
