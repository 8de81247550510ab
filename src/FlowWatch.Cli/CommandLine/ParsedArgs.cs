using System.Globalization;

namespace FlowWatch.Cli.CommandLine;

/// <summary>A command line parsed against a <see cref="CommandSpec"/>: values, flags and positionals.</summary>
public sealed class ParsedArgs
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly CommandSpec _spec;

    private ParsedArgs(CommandSpec spec) => _spec = spec;

    public List<string> Positionals { get; } = [];
    public bool HelpRequested { get; private set; }

    public static ParsedArgs Parse(CommandSpec spec, IReadOnlyList<string> argv)
    {
        var parsed = new ParsedArgs(spec);
        for (var i = 0; i < argv.Count; i++)
        {
            var arg = argv[i];
            if (arg is "-h" or "--help" or "help" && i == 0 || arg is "-h" or "--help") { parsed.HelpRequested = true; continue; }
            if (arg == "--") { parsed.Positionals.AddRange(argv.Skip(i + 1)); break; }
            if (!arg.StartsWith('-') || arg == "-") { parsed.Positionals.Add(arg); continue; }
            string name;
            string? inline = null;
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                var eq = arg.IndexOf('=');
                name = eq < 0 ? arg[2..] : arg[2..eq];
                if (eq >= 0) inline = arg[(eq + 1)..];
            }
            else
            {
                var s = arg[1];
                name = spec.Options.FirstOrDefault(o => o.Short == s)?.Name
                    ?? throw new UsageException($"unknown option '{arg}' for 'flowwatch {spec.Name}'. Run 'flowwatch {spec.Name} --help'.");
                if (arg.Length > 2) inline = arg[2..];
            }
            var option = spec.Options.FirstOrDefault(o => o.Name == name)
                ?? throw new UsageException($"unknown option '--{name}' for 'flowwatch {spec.Name}'. Run 'flowwatch {spec.Name} --help'.");
            string value;
            if (option.TakesValue)
            {
                if (inline is not null) value = inline;
                else if (i + 1 < argv.Count) value = argv[++i];
                else throw new UsageException($"option '--{name}' needs a value ({option.ValueName}): {option.Help}");
            }
            else
            {
                value = inline ?? "true";
                if (value is not ("true" or "false"))
                    throw new UsageException($"option '--{name}' is a switch and takes no value (got '{value}').");
            }
            if (!parsed._values.TryGetValue(name, out var list)) parsed._values[name] = list = [];
            list.Add(value);
        }
        return parsed;
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public string? Get(string name) =>
        _values.TryGetValue(name, out var v) ? v[^1] : _spec.Options.FirstOrDefault(o => o.Name == name)?.Default;

    public IReadOnlyList<string> GetAll(string name) =>
        _values.TryGetValue(name, out var v) ? v.SelectMany(x => x.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList() : [];

    public bool Flag(string name) => Get(name) == "true";

    public int Int(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = Get(name) ?? throw new UsageException($"option '--{name}' is required.");
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw new UsageException($"option '--{name}' must be a whole number between {min} and {max} (got '{text}').");
        return v;
    }

    public double Double(string name, double min, double max)
    {
        var text = Get(name) ?? throw new UsageException($"option '--{name}' is required.");
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v >= min && v <= max))
            throw new UsageException($"option '--{name}' must be a number between {min} and {max} (got '{text}').");
        return v;
    }

    /// <summary>Durations like 500ms, 30s, 5m, 2h.</summary>
    public TimeSpan Duration(string name)
    {
        var text = Get(name) ?? throw new UsageException($"option '--{name}' is required.");
        return ParseDuration(text) ?? throw new UsageException($"option '--{name}' must be a duration such as 500ms, 30s, 5m or 2h (got '{text}').");
    }

    public static TimeSpan? ParseDuration(string text)
    {
        (string suffix, double scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)];
        foreach (var (suffix, scale) in units)
            if (text.EndsWith(suffix, StringComparison.Ordinal) &&
                double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0)
                return TimeSpan.FromSeconds(n * scale);
        return null;
    }
}
