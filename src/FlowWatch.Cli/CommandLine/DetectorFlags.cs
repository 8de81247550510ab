using FlowWatch.Flows;
using FlowWatch.Hosting;

namespace FlowWatch.Cli.CommandLine;

/// <summary>The detector settings a user is most likely to tune, as flags shared by watch, demo and replay.</summary>
/// <remarks>Defaults come from the detectors' own option records, so the help text and the behaviour cannot drift apart.</remarks>
public static class DetectorFlags
{
    private static readonly DetectorSettings D = DetectorSettings.Default;

    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("peer-range", "Client ranges to group handshakes by (peered VPCs, the VPC itself); others group by /24. Repeatable or comma-separated.", "CIDR"),
        new("asym-min-handshakes", "Handshakes from one range to one pod before an asymmetric-path verdict.", "N", D.Asymmetric.MinHandshakes.ToString()),
        new("asym-ratio", "Share of those handshakes that must lose their reply to raise the finding.", "R", D.Asymmetric.ReplyLostRatio.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("backend-min-samples", "Handshakes or HTTP answers a backend needs in the window before it can be called unhealthy.", "N", D.Backends.MinSamples.ToString()),
        new("backend-unhealthy-ratio", "Failure share at which a backend is unhealthy.", "R", D.Backends.UnhealthyRatio.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("dns-timeout", "A DNS lookup with no answer after this long counts as no_answer.", "DURATION", $"{D.Dns.NoAnswerTimeout.TotalSeconds:0}s"),
        new("dns-min-drops", "Dropped lookups a workload must lose before a DNS finding opens.", "N", D.Dns.MinDrops.ToString()),
        new("quiet-period", "A finding resolves after this long (event time) without new evidence.", "DURATION", $"{D.Dns.QuietPeriod.TotalMinutes:0}m"),
    ];

    /// <summary>The settings the flags describe; a bad value fails here, naming its flag.</summary>
    public static DetectorSettings Build(ParsedArgs args)
    {
        var ranges = new List<IpPrefix>();
        foreach (var text in args.GetAll("peer-range"))
        {
            if (!IpPrefix.TryParse(text, out var prefix))
                throw new UsageException($"option '--peer-range': '{text}' is not a CIDR such as 172.31.8.0/24.");
            ranges.Add(prefix);
        }
        var quiet = Positive(args, "quiet-period");
        var dnsTimeout = Positive(args, "dns-timeout");
        var settings = D with
        {
            Dns = D.Dns with { NoAnswerTimeout = dnsTimeout, MinDrops = args.Int("dns-min-drops", 1, 1_000_000), QuietPeriod = quiet },
            DuplicateIp = D.DuplicateIp with { QuietPeriod = quiet },
            Asymmetric = D.Asymmetric with
            {
                PeerRanges = ranges,
                MinHandshakes = args.Int("asym-min-handshakes", 1, 1_000_000),
                ReplyLostRatio = args.Double("asym-ratio", 0.01, 1),
                QuietPeriod = quiet,
            },
            Backends = D.Backends with
            {
                MinSamples = args.Int("backend-min-samples", 1, 1_000_000),
                UnhealthyRatio = args.Double("backend-unhealthy-ratio", D.Backends.DegradedRatio, 1),
                QuietPeriod = quiet,
            },
        };
        try
        {
            settings.Dns.Validate();
            settings.Asymmetric.Validate();
            settings.Backends.Validate();
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
