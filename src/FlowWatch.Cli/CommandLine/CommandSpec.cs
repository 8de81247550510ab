using System.Text;

namespace FlowWatch.Cli.CommandLine;

/// <summary>One option of a command: its name, whether it takes a value, its help and default.</summary>
public sealed record OptionSpec(string Name, string Help, string? ValueName = null, string? Default = null, char? Short = null)
{
    public bool TakesValue => ValueName is not null;
}

/// <summary>A command's name, what it does, and its options; renders its own --help.</summary>
public sealed record CommandSpec(string Name, string Summary, string Usage, IReadOnlyList<OptionSpec> Options, string? Notes = null)
{
    public string Help()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"flowwatch {Name} — {Summary}");
        sb.AppendLine();
        sb.AppendLine($"Usage: flowwatch {Name} {Usage}");
        if (Options.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Options:");
            var width = Options.Max(o => Left(o).Length) + 2;
            foreach (var o in Options)
            {
                var def = o.Default is null ? "" : $" (default: {o.Default})";
                sb.AppendLine($"  {Left(o).PadRight(width)}{o.Help}{def}");
            }
            sb.AppendLine($"  {"-h, --help".PadRight(width)}Show this help.");
        }
        if (Notes is not null) { sb.AppendLine(); sb.AppendLine(Notes.TrimEnd()); }
        return sb.ToString();
    }

    private static string Left(OptionSpec o) =>
        (o.Short is { } s ? $"-{s}, " : "") + $"--{o.Name}" + (o.TakesValue ? $" {o.ValueName}" : "");
}

/// <summary>A bad command line: the message names the flag and what to do.</summary>
public sealed class UsageException(string message) : Exception(message);
