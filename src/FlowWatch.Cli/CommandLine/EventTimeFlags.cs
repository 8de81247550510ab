using FlowWatch.Pipeline;

namespace FlowWatch.Cli.CommandLine;

/// <summary>The event-time flags watch, demo and replay share.</summary>
public static class EventTimeFlags
{
    public static readonly OptionSpec[] Options =
    [
        new("allowed-lateness",
            "How far one node's flows may lag the others' and still be put back in order before the detectors (a Relay's merge lag); " +
            "later flows are counted in flowwatch_late_flows_total and still detected on. At most 1m.", "DURATION", "2s"),
    ];

    /// <summary>The event-time settings of the command line, checked now.</summary>
    public static EventTimeOptions From(ParsedArgs args)
    {
        var lateness = args.Duration("allowed-lateness");
        if (lateness > TimeSpan.FromMinutes(1))
            throw new UsageException($"option '--allowed-lateness' must be at most 1m: findings wait for it (got '{args.Get("allowed-lateness")}').");
        return EventTimeOptions.Default with { AllowedLateness = lateness };
    }
}
