using FlowWatch.Cli.CommandLine;
using FlowWatch.Hubble;

namespace FlowWatch.Cli.Commands;

/// <summary><c>--hubble [NAME=]TARGET</c> (repeatable) and the per-source <c>--tls-* [NAME=]VALUE</c> flags of watch.</summary>
/// <remarks>A TLS flag keyed by a source's name applies to that source only; an unkeyed one to every TLS source without
/// its own. Namespace, node and idle-timeout flags apply to every source.</remarks>
public static class HubbleSourceFlags
{
    private static readonly string[] TlsFlags = ["tls-ca", "tls-cert", "tls-key", "tls-server-name"];

    /// <summary>Every source of the command line, checked now so that a bad flag fails before anything starts.</summary>
    public static IReadOnlyList<HubbleSourceSpec> Build(ParsedArgs args)
    {
        var raw = args.GetAll("hubble");
        if (raw.Count == 0) throw new UsageException("option '--hubble' is required (for example --hubble 127.0.0.1:4245, or --hubble a=relay-a:4245 --hubble b=relay-b:4245).");
        var parsed = new List<(string? Name, string Target)>();
        foreach (var text in raw)
        {
            try { parsed.Add(HubbleSourceSpec.ParseArgument(text)); }
            catch (FormatException e) { throw new UsageException($"option '--hubble': {e.Message}"); }
        }
        var keys = parsed.Select(p => p.Name ?? p.Target).ToList();
        if (keys.GroupBy(k => k).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new UsageException($"option '--hubble': source '{twice.Key}' is given twice; give each source once, with its own NAME= when two share a target.");
        var names = parsed.Select(p => p.Name).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var tls = TlsByName(args, names);
        var specs = new List<HubbleSourceSpec>();
        foreach (var (name, target) in parsed)
        {
            var isTls = HubbleTarget.Parse(target).Transport == HubbleTransport.Tls;
            var own = name is not null && tls.Keyed.TryGetValue(name, out var keyed) ? keyed : null;
            if (own is not null && !isTls)
                throw new UsageException($"options '--tls-* {name}=...' need a TLS target: write --hubble {name}=https://{HubbleTarget.Parse(target).Address.Authority} (got '{target}').");
            var settings = own ?? (isTls ? tls.Shared : new HubbleTlsOptions());
            specs.Add(new HubbleSourceSpec(name, target, Options(args, target, settings, name)));
        }
        if (!tls.Shared.IsEmpty && !specs.Any(s => HubbleTarget.Parse(s.Target).Transport == HubbleTransport.Tls))
            throw new UsageException($"options '--tls-*' need a TLS target: write --hubble https://{HubbleTarget.Parse(specs[0].Target).Address.Authority} (got '{specs[0].Target}').");
        return specs;
    }

    /// <summary>The client settings of one source: its TLS settings, and the namespace, node and idle flags every source shares.</summary>
    public static HubbleClientOptions Options(ParsedArgs args, string target, HubbleTlsOptions tls, string? name = null)
    {
        var options = new HubbleClientOptions
        {
            Tls = tls,
            Namespaces = args.GetAll("namespace"),
            Nodes = args.GetAll("node"),
            IdleTimeout = args.Duration("idle-timeout"),
        };
        try
        {
            options.Validate();
            if (HubbleTarget.Parse(target).Transport == HubbleTransport.Tls) HubbleChannelFactory.CheckTlsFiles(tls);
        }
        catch (ArgumentException e)
        {
            var flag = FlagOf(e.ParamName);
            var keyed = name is not null && flag.StartsWith("tls-", StringComparison.Ordinal) ? $" {name}=" : "";
            throw new UsageException($"option '--{flag}{keyed}': {StripParam(e)}");
        }
        return options;
    }

    private sealed record TlsSettings(HubbleTlsOptions Shared, Dictionary<string, HubbleTlsOptions> Keyed);

    private static TlsSettings TlsByName(ParsedArgs args, IReadOnlyCollection<string> names)
    {
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        var keyed = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var flag in TlsFlags)
            foreach (var text in args.GetAll(flag))
            {
                var (name, value) = HubbleSourceSpec.ParseKeyed(text, names);
                var into = name is null ? shared : keyed.TryGetValue(name, out var d) ? d : keyed[name] = new(StringComparer.Ordinal);
                if (!into.TryAdd(flag, value))
                    throw new UsageException($"option '--{flag}' is given twice{(name is null ? "" : $" for source '{name}'")}; give it once (key it as NAME=VALUE for one source).");
            }
        static HubbleTlsOptions Of(Dictionary<string, string> d) => new()
        {
            CaFile = d.GetValueOrDefault("tls-ca"), CertFile = d.GetValueOrDefault("tls-cert"),
            KeyFile = d.GetValueOrDefault("tls-key"), ServerName = d.GetValueOrDefault("tls-server-name"),
        };
        return new TlsSettings(Of(shared), keyed.ToDictionary(p => p.Key, p => Of(p.Value), StringComparer.Ordinal));
    }

    private static string FlagOf(string? setting) => setting switch
    {
        nameof(HubbleTlsOptions.CaFile) => "tls-ca",
        nameof(HubbleTlsOptions.CertFile) => "tls-cert",
        nameof(HubbleTlsOptions.KeyFile) => "tls-key",
        nameof(HubbleTlsOptions.ServerName) => "tls-server-name",
        nameof(HubbleClientOptions.Namespaces) => "namespace",
        nameof(HubbleClientOptions.Nodes) => "node",
        nameof(HubbleClientOptions.IdleTimeout) => "idle-timeout",
        _ => "hubble",
    };

    // ArgumentException appends " (Parameter 'X')" to its message; the flag name already says it.
    private static string StripParam(ArgumentException e) =>
        e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
}
