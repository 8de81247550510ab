namespace FlowWatch.Hubble;

/// <summary>How FlowWatch reaches Hubble: plaintext h2c over TCP, TLS over TCP, or an agent's unix socket.</summary>
public enum HubbleTransport { Plaintext, Tls, UnixSocket }

/// <summary>A parsed <c>--hubble</c> target: <c>host:port</c>, <c>http://host:port</c>, <c>https://host:port</c> or <c>unix:///path</c>.</summary>
public sealed record HubbleTarget(string Text, HubbleTransport Transport, Uri Address, string? SocketPath)
{
    /// <exception cref="FormatException">The text is none of the accepted forms; the message says which ones are.</exception>
    public static HubbleTarget Parse(string text)
    {
        const string forms = "host:port (plaintext h2c), https://host:port (TLS) or unix:///path/to/hubble.sock";
        if (string.IsNullOrWhiteSpace(text)) throw new FormatException($"the target is empty; give {forms}");
        if (text.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
        {
            var path = text["unix://".Length..];
            if (!path.StartsWith('/')) throw new FormatException($"'{text}' needs an absolute socket path, as in unix:///var/run/cilium/hubble.sock");
            // The authority is a placeholder: the handler's connect callback dials the socket whatever the URI says.
            return new HubbleTarget(text, HubbleTransport.UnixSocket, new Uri("http://localhost"), path);
        }
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0 && !text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw new FormatException($"'{text}' has an unknown scheme '{text[..scheme]}'; give {forms}");
        var withScheme = scheme >= 0 ? text : "http://" + text;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
            throw new FormatException($"'{text}' is not a valid address; give {forms}");
        if (uri.IsDefaultPort && !text.Contains(':', StringComparison.Ordinal) || uri.AbsolutePath is not ("/" or ""))
            throw new FormatException($"'{text}' needs a port and no path, as in 127.0.0.1:4245 or https://hubble-relay:443");
        var tls = uri.Scheme == Uri.UriSchemeHttps;
        return new HubbleTarget(text, tls ? HubbleTransport.Tls : HubbleTransport.Plaintext, new Uri(uri.GetLeftPart(UriPartial.Authority)), null);
    }

    public override string ToString() => Text;
}
