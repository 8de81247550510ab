using FlowWatch.Detectors.Registry;
using FlowWatch.Flows;
using FlowWatch.Hosting;

namespace FlowWatch.Cli.CommandLine;

/// <summary>The detectors' flags, shared by watch, demo and replay, as <see cref="DetectorRegistry"/> declares them.</summary>
/// <remarks>Defaults come from the detectors' own option records, so the help text and the behaviour cannot drift apart.</remarks>
public static class DetectorFlags
{
    private static readonly DetectorSettings D = DetectorSettings.Default;

    public static readonly IReadOnlyList<OptionSpec> Options =
        DetectorRegistry.Flags.Select(f => new OptionSpec(f.Name, f.Help, f.ValueName, f.Default(D))).ToList();

    /// <summary>The settings the flags describe; a bad value fails here, naming its flag.</summary>
    public static DetectorSettings Build(ParsedArgs args)
    {
        var settings = D;
        foreach (var flag in DetectorRegistry.Flags)
        {
            if (flag.Kind == FlagValueKind.CidrList)
            {
                var ranges = new List<IpPrefix>();
                foreach (var text in args.GetAll(flag.Name))
                {
                    if (!IpPrefix.TryParse(text, out var prefix))
                        throw new UsageException($"option '--{flag.Name}': '{text}' is not a CIDR such as 172.31.8.0/24.");
                    ranges.Add(prefix);
                }
                settings = flag.Apply(settings, ranges);
                continue;
            }
            if (args.Get(flag.Name) is null) continue;
            object value = flag.Kind switch
            {
                FlagValueKind.Int => args.Int(flag.Name, (int)flag.Min, (int)flag.Max),
                FlagValueKind.Number => args.Double(flag.Name, flag.MinFrom?.Invoke(settings) ?? flag.Min, flag.Max),
                _ => Positive(args, flag.Name),
            };
            settings = flag.Apply(settings, value);
        }
        try
        {
            DetectorRegistry.Validate(settings);
        }
        catch (ArgumentException e) { throw new UsageException($"detector settings: {e.Message}."); }
        return settings;
    }

    private static TimeSpan Positive(ParsedArgs args, string name)
    {
        var value = args.Duration(name);
        if (value <= TimeSpan.Zero) throw new UsageException($"option '--{name}' must be longer than zero (got '{args.Get(name)}').");
        return value;
    }
}
