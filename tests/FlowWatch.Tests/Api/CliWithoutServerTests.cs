using System.Net;
using System.Net.Sockets;

namespace FlowWatch.Tests.Api;

/// <summary>The query commands with nothing listening: one clear line and exit code 1, no stack trace.</summary>
public sealed class CliWithoutServerTests
{
    [Theory]
    [InlineData("flows")]
    [InlineData("findings")]
    [InlineData("health", "shop/cart-1")]
    [InlineData("backends", "shop/web")]
    public async Task ServerNotRunning_OneLineAndExitOne(params string[] command)
    {
        // A port that was free a moment ago: bound, read, released.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var run = await CliRun.RunAsync([.. command, "--server", $"http://127.0.0.1:{port}"]);
        Assert.Equal(1, run.ExitCode);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains($"cannot reach FlowWatch: connection refused at 127.0.0.1:{port}", lines[0]);
        Assert.DoesNotContain("   at ", run.Stderr);
    }
}
