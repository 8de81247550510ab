using System.Text.RegularExpressions;
using FlowWatch.Cli.CommandLine;

namespace FlowWatch.Cli.Commands;

/// <summary>One FlowWatch the query commands ask: the name it was given (null for a plain <c>--server URL</c>), its
/// address, and, from a clusters file, its own token and CA files (null: --token-file and --ca-file apply).</summary>
public sealed record NamedServer(string? Name, string Url, string? TokenFile = null, string? CaFile = null);

/// <summary>Reads the repeatable <c>--server</c> and <c>--clusters-file</c>: one plain URL (the single-server
/// commands, unchanged), or one or more named servers (the fleet commands: answers merged with a CLUSTER column).</summary>
public static partial class ServerTargets
{
    /// <summary>More servers than this in one command is a typo or a script gone wrong, not a fleet view.</summary>
    public const int MaxServers = 200;

    /// <summary>The servers <paramref name="values"/> names, in order, then those of a clusters file; a usage error
    /// for a bad or repeated name, or several servers without names.</summary>
    public static IReadOnlyList<NamedServer> Parse(IReadOnlyList<string> values, IReadOnlyList<NamedServer> fromFile, string defaultUrl)
    {
        if (values.Count == 0 && fromFile.Count == 0) return [new NamedServer(null, defaultUrl)];
        if (values.Count + fromFile.Count > MaxServers)
            throw new UsageException($"{values.Count + fromFile.Count} servers are given (--server and --clusters-file); at most {MaxServers} per command.");
        foreach (var s in fromFile)
            if (!Name().IsMatch(s.Name ?? ""))
                throw new UsageException($"option '--clusters-file': '{s.Name}' is not a server name (1-63 letters, digits, '.', '_' or '-', starting with a letter or digit).");
        var servers = values.Select(ParseOne).Concat(fromFile).ToList();
        if (servers.Count > 1 && servers.Any(s => s.Name is null))
            throw new UsageException(
                $"option '--server': with several servers, name each one so its rows can be told apart: --server NAME=URL (got '{servers.First(s => s.Name is null).Url}').");
        var repeated = servers.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new UsageException($"option '--server': the name '{repeated.Key}' is given twice; each server needs its own name.");
        return servers;
    }

    /// <summary>True when the answers are merged with a CLUSTER column (any server given by name).</summary>
    public static bool IsFleet(IReadOnlyList<NamedServer> servers) => servers.Any(s => s.Name is not null);

    private static NamedServer ParseOne(string value)
    {
        // NAME=URL when an '=' comes before any "://" (a URL's own query string may hold '=' too).
        var eq = value.IndexOf('=');
        var scheme = value.IndexOf("://", StringComparison.Ordinal);
        if (eq < 0 || (scheme >= 0 && scheme < eq)) return new NamedServer(null, value);
        var name = value[..eq];
        var url = value[(eq + 1)..];
        if (!Name().IsMatch(name))
            throw new UsageException($"option '--server': '{name}' is not a server name (1-63 letters, digits, '.', '_' or '-', starting with a letter or digit), as in --server prod-eu=http://flowwatch.prod-eu:9090.");
        if (url.Length == 0)
            throw new UsageException($"option '--server': '{name}=' has no address; write --server {name}=http://HOST:PORT.");
        return new NamedServer(name, url);
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
    private static partial Regex Name();
}
