using FlowWatch.Cli.CommandLine;
using FlowWatch.Flows;
using FlowWatch.Pipeline;

namespace FlowWatch.Cli.Commands;

/// <summary>Switches for tests of the built CLI that need a pipeline slower than any real one; off unless their variable is set.</summary>
internal static class TestHooks
{
    /// <summary>FLOWWATCH_TEST_FLOW_DELAY=DURATION: every flow holds the pipeline this long, as a detector stuck on it would.</summary>
    public const string FlowDelayVariable = "FLOWWATCH_TEST_FLOW_DELAY";

    public static IReadOnlyList<IFlowSink> Sinks() =>
        Environment.GetEnvironmentVariable(FlowDelayVariable) is { Length: > 0 } text && ParsedArgs.ParseDuration(text) is { } delay && delay > TimeSpan.Zero
            ? [new SlowSink(delay)]
            : [];

    private sealed class SlowSink(TimeSpan delay) : IFlowSink
    {
        public void Add(FlowRecord flow) => Thread.Sleep(delay);
    }
}
