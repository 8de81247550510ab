using System.Diagnostics;
using System.Text.Json;
using FlowWatch.Tests.Support;

namespace FlowWatch.Tests.Hubble.Conformance;

/// <summary>What the real hubble CLI printed: stdout and stderr apart, so jsonpb output can be parsed line by line.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<string> Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The flow lines of a jsonpb answer (lost events and node status left out).</summary>
    public IReadOnlyList<JsonElement> Flows => Lines
        .Select(l => JsonDocument.Parse(l).RootElement)
        .Where(e => e.TryGetProperty("flow", out _))
        .Select(e => e.GetProperty("flow"))
        .ToList();

    public IReadOnlyList<string> Uuids => Flows.Select(f => f.GetProperty("uuid").GetString()!).ToList();

    public CliResult Ok() => ExitCode == 0 ? this
        : throw new Xunit.Sdk.XunitException($"hubble exited {ExitCode}: {Stderr}");
}

/// <summary>Runs ../shared/bin/hubble (v0.12.3, built from Cilium's source) to completion; skips the test where it is absent.</summary>
internal static class HubbleCli
{
    public static async Task<CliResult> RunAsync(params string[] args) => await RunAsync(args, TimeSpan.FromSeconds(60));

    public static async Task<CliResult> RunAsync(IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(TestPaths.Hubble)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // No user configuration (~/.config/hubble) may change what the CLI sends.
        psi.Environment["HOME"] = Path.GetTempPath();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start hubble");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"hubble {string.Join(' ', psi.ArgumentList)} did not finish within {timeout.TotalSeconds:0} s");
        }
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
