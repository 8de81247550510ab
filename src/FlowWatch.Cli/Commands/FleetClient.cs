using System.Text.Json;
using System.Text.Json.Nodes;
using FlowWatch.Api;
using FlowWatch.Cli.CommandLine;

namespace FlowWatch.Cli.Commands;

/// <summary>One server's answer to a fleet query: its JSON, or why there is none.</summary>
/// <param name="NotFound">The server answered 404: it does not know the pod or service asked for (an answer, not a failure).</param>
public sealed record ServerAnswer(NamedServer Server, Uri Address, JsonObject? Body, string? Error, bool NotFound = false)
{
    public string Name => Server.Name ?? Address.Authority;

    public bool Answered => Error is null;

    /// <summary>The cluster the answer names (its top-level "cluster"), else the name the server was given.</summary>
    public string Cluster => FleetClient.ClusterOf(Body) ?? Name;

    /// <summary>The cluster of one item of the answer (a finding, a flow): its own "cluster", else the answer's.</summary>
    public string ClusterOf(JsonNode? item) => FleetClient.ClusterOf(item as JsonObject) ?? Cluster;
}

/// <summary>Asks several FlowWatch servers the same question at once; a server that does not answer is reported, never
/// allowed to hide the others' answers.</summary>
/// <remarks>Exit codes of the fleet commands: 0 every server answered; 3 some did not (their answers are printed,
/// stderr names each server that failed and why); 1 none answered, or the command line was wrong.</remarks>
public sealed class FleetClient : IDisposable
{
    public const int PartialExitCode = 3;

    private readonly List<(NamedServer Server, ApiClient Client)> _clients = [];

    /// <param name="token">--token-file's (or FLOWWATCH_TOKEN's) token, for servers without their own.</param>
    /// <param name="caFile">--ca-file, for https servers without their own.</param>
    public FleetClient(IReadOnlyList<NamedServer> servers, string? token, string? caFile)
    {
        if (caFile is not null && !servers.Any(IsHttps))
            throw new UsageException("option '--ca-file' is for https servers: write --server NAME=https://HOST:PORT.");
        foreach (var s in servers.Where(s => s.CaFile is not null))
        {
            if (!IsHttps(s)) throw new UsageException($"option '--clusters-file': server {s.Name} has a ca-file but its url is not https.");
            if (!File.Exists(s.CaFile)) throw new UsageException($"option '--clusters-file': the ca-file of server {s.Name}, {s.CaFile}, does not exist.");
        }
        try
        {
            foreach (var s in servers)
            {
                var own = s.TokenFile is { } file ? QueryCommands.ReadToken(file, $"option '--clusters-file': the token-file of server {s.Name}") : token;
                _clients.Add((s, new ApiClient(s.Url, own, s.CaFile ?? (IsHttps(s) ? caFile : null))));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>GETs <paramref name="pathAndQuery"/> from every server concurrently, answers in the servers' order.</summary>
    public async Task<IReadOnlyList<ServerAnswer>> GetAllAsync(string pathAndQuery, CancellationToken ct) =>
        await Task.WhenAll(_clients.Select(c => GetOneAsync(c.Server, c.Client, pathAndQuery, ct)));

    /// <summary>GETs <paramref name="pathAndQuery"/> from the server of that name.</summary>
    public Task<ServerAnswer> GetOneAsync(string name, string pathAndQuery, CancellationToken ct)
    {
        var (server, client) = _clients.Single(c => c.Server.Name == name);
        return GetOneAsync(server, client, pathAndQuery, ct);
    }

    private static async Task<ServerAnswer> GetOneAsync(NamedServer server, ApiClient client, string pathAndQuery, CancellationToken ct)
    {
        try
        {
            var (body, _) = await client.GetAsync<JsonObject>(pathAndQuery, ct);
            return new ServerAnswer(server, client.Server, body, null);
        }
        catch (QueryFailedException e)
        {
            return new ServerAnswer(server, client.Server, null, e.Message, NotFound: e.Status == 404);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            // The answer broke off mid-body: as much a non-answer as a refused connection.
            return new ServerAnswer(server, client.Server, null, $"the answer from {client.Server} broke off ({e.Message})");
        }
    }

    /// <summary>Writes one line per server that did not answer (404s excepted) to stderr and returns the exit code.</summary>
    public static int Report(string command, IReadOnlyList<ServerAnswer> answers, bool notFoundIsAnAnswer = false)
    {
        var failed = answers.Where(a => !a.Answered && !(notFoundIsAnAnswer && a.NotFound)).ToList();
        foreach (var a in failed) Console.Error.WriteLine($"flowwatch {command}: server {a.Name} ({a.Address}) did not answer: {a.Error}");
        if (failed.Count == 0) return 0;
        if (failed.Count == answers.Count) return 1;
        Console.Error.WriteLine($"flowwatch {command}: {failed.Count} of {answers.Count} servers did not answer ({string.Join(", ", failed.Select(a => a.Name))}); " +
                                $"the output above holds the other {answers.Count - failed.Count}");
        return PartialExitCode;
    }

    /// <summary>Who answered and who did not, for -o json: [{name, url, cluster, error}].</summary>
    public static JsonArray Servers(IReadOnlyList<ServerAnswer> answers) =>
        new(answers.Select(a => (JsonNode)new JsonObject
        {
            ["name"] = a.Name,
            ["url"] = a.Address.ToString(),
            ["cluster"] = a.Answered ? a.Cluster : null,
            ["error"] = a.Answered ? null : a.Error,
        }).ToArray());

    /// <summary>The non-empty "cluster" of a JSON object, if it has one.</summary>
    public static string? ClusterOf(JsonObject? o) =>
        o?["cluster"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    /// <summary>A copy of an item with its cluster set (kept when the server already named one).</summary>
    public static JsonObject WithCluster(JsonNode item, string cluster)
    {
        var copy = item.DeepClone().AsObject();
        if (ClusterOf(copy) is null) copy["cluster"] = cluster;
        return copy;
    }

    public static T Typed<T>(JsonNode node) => node.Deserialize<T>(ApiJson.Options)!;

    private static bool IsHttps(NamedServer s) => s.Url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    public void Dispose()
    {
        foreach (var (_, client) in _clients) client.Dispose();
    }
}
