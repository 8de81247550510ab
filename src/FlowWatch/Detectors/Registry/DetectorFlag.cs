using FlowWatch.Hosting;

namespace FlowWatch.Detectors.Registry;

/// <summary>What a detector flag's value is, so the command line parses and checks it the same way for each.</summary>
public enum FlagValueKind
{
    /// <summary>A whole number within [Min, Max].</summary>
    Int,
    /// <summary>A number within [Min, Max].</summary>
    Number,
    /// <summary>A duration longer than zero (500ms, 30s, 5m).</summary>
    Duration,
    /// <summary>CIDRs, repeatable or comma-separated.</summary>
    CidrList,
}

/// <summary>One command-line flag of a detector: its name, help, default (read from the options record) and how it applies.</summary>
/// <param name="Default">The default shown in --help, from the default settings; null for none (lists).</param>
/// <param name="Apply">Returns the settings with the parsed value (int, double, TimeSpan or IReadOnlyList&lt;IpPrefix&gt;) applied.</param>
/// <param name="Min">Lower bound for Int and Number; for Number it may come from the settings (see <see cref="MinFrom"/>).</param>
/// <param name="MinFrom">A lower bound that depends on other settings (e.g. the unhealthy ratio is at least the degraded one).</param>
public sealed record DetectorFlag(
    string Name,
    string Help,
    string ValueName,
    FlagValueKind Kind,
    Func<DetectorSettings, string?> Default,
    Func<DetectorSettings, object, DetectorSettings> Apply,
    double Min = 0,
    double Max = 1_000_000,
    Func<DetectorSettings, double>? MinFrom = null);
