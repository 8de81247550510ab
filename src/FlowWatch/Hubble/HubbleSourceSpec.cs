namespace FlowWatch.Hubble;

/// <summary>One Hubble source of a FlowWatch: an optional name (<c>--hubble NAME=TARGET</c>), its target and its own client settings.</summary>
public sealed record HubbleSourceSpec(string? Name, string Target, HubbleClientOptions Options)
{
    /// <summary>The checkpoint key and flow origin: the name, else the target.</summary>
    public string Key => Name ?? Target;

    /// <summary>"NAME=TARGET" or a plain "TARGET". A name is letters, digits, '-', '_', '.'; anything else before a '=' is part of the target.</summary>
    /// <exception cref="FormatException">NAME= with no target, or the target is none of <see cref="HubbleTarget.Parse"/>'s forms.</exception>
    public static (string? Name, string Target) ParseArgument(string text)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        string? name = null;
        var target = text;
        if (eq > 0 && (scheme < 0 || eq < scheme) && IsName(text[..eq]))
        {
            name = text[..eq];
            target = text[(eq + 1)..];
            if (target.Length == 0) throw new FormatException($"'{text}' names source '{name}' but gives no target; write {name}=HOST:PORT");
        }
        HubbleTarget.Parse(target);
        return (name, target);
    }

    /// <summary>"NAME=VALUE" for a name among <paramref name="names"/>, else (null, text): how per-source flags (--tls-ca a=ca.crt) are keyed.</summary>
    public static (string? Name, string Value) ParseKeyed(string text, IReadOnlyCollection<string> names)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq > 0 && names.Contains(text[..eq])) return (text[..eq], text[(eq + 1)..]);
        return (null, text);
    }

    public static bool IsName(string text) => Findings.ClusterName.Problem(text) is null;
}
