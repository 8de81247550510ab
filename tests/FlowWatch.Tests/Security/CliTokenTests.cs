using FlowWatch.Hosting;
using FlowWatch.Hubble;
using FlowWatch.Security;
using FlowWatch.Simulation;
using FlowWatch.Tests.Api;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Tests.Security;

/// <summary><c>flowwatch flows</c> against a token-protected FlowWatch (simulator over loopback gRPC, HTTP on 127.0.0.1).</summary>
public sealed class CliTokenTests : IAsyncLifetime
{
    private const string Token = "tok-7f3a9c2e51d84b06";
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-clitoken-").FullName;
    private readonly CancellationTokenSource _stop = new();
    private SimulatorHost _sim = null!;
    private FlowWatchRuntime _runtime = null!;
    private Task _pump = Task.CompletedTask, _stream = Task.CompletedTask;

    private string TokenFile => Path.Combine(_dir, "token");
    private string Server => _runtime.HttpAddress!.ToString();

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(TokenFile, Token + "\n");
        _sim = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 500 });
        await _sim.StartAsync();
        _runtime = new FlowWatchRuntime(new RuntimeOptions
        {
            Listen = "127.0.0.1:0",
            Security = new HttpSecurity(new ApiAccessOptions { TokenFile = TokenFile }),
        }, NullLoggerFactory.Instance);
        await _runtime.StartHttpAsync(CancellationToken.None);
        var source = new HubbleStreamSource(_sim.Address.ToString(), f => _runtime.Intake.Write(f), _runtime.Pipeline.Metrics);
        _pump = _runtime.RunAsync(live: true, _stop.Token);
        _stream = source.RunAsync(_stop.Token);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_runtime.Store.Count < 10)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the store holds {_runtime.Store.Count} flows after 30 s");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Flows_WithoutToken_IsRefusedWithAHint_AndExits1()
    {
        var r = await CliRun.RunAsync("flows", "--server", Server, "-n", "3");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("401", r.Stderr);
        Assert.Contains("--token-file", r.Stderr);
        Assert.Contains("FLOWWATCH_TOKEN", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public async Task Flows_WithWrongToken_IsRefused_WithoutEchoingIt()
    {
        var wrong = Path.Combine(_dir, "wrong");
        await File.WriteAllTextAsync(wrong, "not-the-token-123");
        var r = await CliRun.RunAsync("flows", "--server", Server, "--token-file", wrong);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("not accepted", r.Stderr);
        Assert.DoesNotContain("not-the-token-123", r.Stderr + r.Stdout);
    }

    [Fact]
    public async Task Flows_WithTokenFile_IsServed()
    {
        var r = await CliRun.RunAsync("flows", "--server", Server, "--token-file", TokenFile, "-n", "3");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(3, r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain(Token, r.Stdout + r.Stderr);
    }

    [Fact]
    public async Task Findings_WithTokenInTheEnvironment_IsServed()
    {
        var r = await CliRun.RunAsync(new Dictionary<string, string> { ["FLOWWATCH_TOKEN"] = Token }, "findings", "--server", Server);
        Assert.True(r.ExitCode == 0, r.Stderr);
    }

    [Fact]
    public async Task MissingTokenFile_FailsFast_NamingTheFlag()
    {
        var r = await CliRun.RunAsync("flows", "--server", Server, "--token-file", Path.Combine(_dir, "absent"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--token-file", r.Stderr);
    }

    public async Task DisposeAsync()
    {
        _stop.Cancel();
        await _stream;
        await _pump;
        await _runtime.DisposeAsync();
        await _sim.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
