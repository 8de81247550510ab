using FlowWatch.Cli.CommandLine;
using FlowWatch.Flows;
using FlowWatch.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FlowWatch.Cli.Commands;

/// <summary>Switches for tests of the built CLI that need a pipeline slower than any real one; off unless their variable is set.</summary>
internal static class TestHooks
{
    /// <summary>FLOWWATCH_TEST_FLOW_DELAY=DURATION: every flow holds the pipeline this long, as a detector stuck on it would.</summary>
    public const string FlowDelayVariable = "FLOWWATCH_TEST_FLOW_DELAY";

    /// <summary>FLOWWATCH_TEST_AT_STOP=throw|hang: the watcher gets one more hosted service, which throws when the host stops
    /// it, or never finishes stopping.</summary>
    public const string AtStopVariable = "FLOWWATCH_TEST_AT_STOP";

    /// <summary>Added last, so it is stopped first: the services after it (the pipeline, the checkpoint) must still stop.</summary>
    public static void AddHostedServices(IServiceCollection services)
    {
        switch (Environment.GetEnvironmentVariable(AtStopVariable))
        {
            case "throw": services.AddHostedService(_ => new MisbehavingAtStop(hang: false)); break;
            case "hang": services.AddHostedService(_ => new MisbehavingAtStop(hang: true)); break;
        }
    }

    public static IReadOnlyList<IFlowSink> Sinks() =>
        Environment.GetEnvironmentVariable(FlowDelayVariable) is { Length: > 0 } text && ParsedArgs.ParseDuration(text) is { } delay && delay > TimeSpan.Zero
            ? [new SlowSink(delay)]
            : [];

    /// <summary>Said on stderr when the hanging service is asked to stop: the first signal has been taken.</summary>
    public const string HangingLine = "flowwatch test hook: this service never finishes stopping";

    private sealed class MisbehavingAtStop(bool hang) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            if (!hang) throw new InvalidOperationException($"{AtStopVariable}=throw: this service fails when stopped");
            Console.Error.WriteLine(HangingLine);
            return Task.Delay(Timeout.Infinite, CancellationToken.None);
        }
    }

    /// <summary>FLOWWATCH_TEST_SHUTDOWN_DEADLINE=DURATION: the backstop's deadline instead of <see cref="ShutdownSignal.Deadline"/>
    /// (a test of what the graceful stop does, on a machine loaded enough that the backstop could come first).</summary>
    public static TimeSpan? ShutdownDeadline() =>
        Environment.GetEnvironmentVariable("FLOWWATCH_TEST_SHUTDOWN_DEADLINE") is { Length: > 0 } text ? ParsedArgs.ParseDuration(text) : null;

    /// <summary>Said on stderr when the first flow is held, so a test knows the pipeline is busy from then on.</summary>
    public const string HoldingLine = "flowwatch test hook: holding the pipeline";

    private sealed class SlowSink(TimeSpan delay) : IFlowSink
    {
        private int _held;

        public void Add(FlowRecord flow)
        {
            if (Interlocked.Exchange(ref _held, 1) == 0) Console.Error.WriteLine($"{HoldingLine} for {delay.TotalMilliseconds:0} ms a flow");
            Thread.Sleep(delay);
        }
    }
}
