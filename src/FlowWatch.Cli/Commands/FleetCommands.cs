using System.Text.Json;
using System.Text.Json.Nodes;
using FlowWatch.Api;
using FlowWatch.Cli.CommandLine;
using FlowWatch.Detectors;
using FlowWatch.Findings;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch flows | findings | health | backends --server NAME=URL ...</c>: the same question to every
/// server at once, the answers merged (findings by severity, flows by time, backends worst first) with a CLUSTER
/// column, and every server that did not answer named on stderr (exit 3) without losing the others' answers.</summary>
/// <remarks>CLUSTER is the cluster an answer names ("cluster" on the item or the answer), else the server's NAME.</remarks>
internal static class FleetCommands
{
    public static async Task<int> FindingsAsync(ParsedArgs args, FleetClient fleet, CancellationToken ct)
    {
        var answers = await fleet.GetAllAsync(QueryCommands.FindingsPath(args), ct);
        var limit = args.Int("limit", 1, 1000);
        var found = new List<(string Cluster, string Server, Finding Finding, JsonObject Json)>();
        foreach (var a in answers.Where(a => a.Answered))
            foreach (var item in a.Body!["findings"] as JsonArray ?? [])
                if (item is not null) found.Add((a.ClusterOf(item), a.Name, FleetClient.Typed<Finding>(item), FleetClient.WithCluster(item, a.ClusterOf(item))));
        // Replicas of one cluster (node shards) raise a finding under the same id when each sees part of its evidence:
        // one row, merged (FindingMerge), naming the servers that reported it.
        var all = found.GroupBy(f => (f.Cluster, f.Finding.Id)).Select(g => Merged(g.Key.Cluster, g.ToList())).ToList();
        var open = all.Count(f => f.Finding.State == FindingState.Open);
        var resolved = all.Count - open;
        var byJson = all.ToDictionary(f => (f.Cluster, f.Finding.Id), f => f.Json);
        var shown = QueryTables.Sorted(all.Select(f => (f.Cluster, f.Finding))).Take(limit).ToList();
        if (IsJson(args))
            Console.Out.WriteLine(Json(new JsonObject
            {
                ["servers"] = FleetClient.Servers(answers),
                ["open"] = open,
                ["resolved"] = resolved,
                ["findings"] = new JsonArray(shown.Select(f => (JsonNode)byJson[(f.Cluster, f.Finding.Id)]).ToArray()),
            }));
        else if (answers.Any(a => a.Answered))
        {
            if (all.Count == 0) Console.Out.WriteLine("no findings");
            else
            {
                Console.Out.Write(QueryTables.Findings(shown, QueryCommands.Width(args), DateTimeOffset.UtcNow));
                var more = all.Count > shown.Count ? $"; showing the first {shown.Count} (--limit)" : "";
                Console.Out.WriteLine($"{open} open, {resolved} recently resolved in {Clusters(answers)}{more}");
            }
        }
        return FleetClient.Report("findings", answers);
    }

    private static (string Cluster, Finding Finding, JsonObject Json) Merged(string cluster, List<(string Cluster, string Server, Finding Finding, JsonObject Json)> copies)
    {
        if (copies.Count == 1) return (cluster, copies[0].Finding, copies[0].Json);
        var merged = FindingMerge.Merge(copies.Select(c => c.Finding with { Cluster = cluster }).ToList());
        var json = (JsonObject)JsonSerializer.SerializeToNode(merged, ApiJson.Options)!;
        json["reported_by"] = new JsonArray(copies.Select(c => (JsonNode)JsonValue.Create(c.Server)!).ToArray());
        return (cluster, merged, json);
    }

    public static async Task<int> FlowsAsync(ParsedArgs args, FleetClient fleet, CancellationToken ct)
    {
        var limit = args.Int("limit", 1, 10_000);
        var path = QueryCommands.FlowsPath(args, limit);
        var answers = await fleet.GetAllAsync(path, ct);
        var follow = args.Flag("follow");
        // flows -o json is Hubble's lines (one server at a time); the API's JSON is -o api.
        var json = args.Get("output") == "api";
        // Newest first across every server, cut to --limit, then printed oldest to newest as hubble observe does.
        var newest = Flows(answers).OrderByDescending(f => f.Flow.Time).ThenBy(f => f.Cluster, StringComparer.Ordinal).Take(limit).ToList();
        if (json && !follow)
        {
            Console.Out.WriteLine(Json(new JsonObject
            {
                ["servers"] = FleetClient.Servers(answers),
                ["flows"] = new JsonArray(newest.Select(f => (JsonNode)f.Json).ToArray()),
            }));
            return FleetClient.Report("flows", answers);
        }
        var width = 0;
        Print(newest.AsEnumerable().Reverse().ToList(), json, ref width);
        var code = FleetClient.Report("flows", answers);
        if (!follow || code == 1)
        {
            if (newest.Count == 0 && code != 1) Console.Error.WriteLine("(no flows match on any server)");
            return code;
        }
        return await FollowAsync(args, fleet, path, limit, answers, json, width, ct);
    }

    // Each server has its own cursor (its store's sequence numbers are its own); a server that stops answering is
    // reported once, polled again every interval, and reported again when it is back.
    private static async Task<int> FollowAsync(
        ParsedArgs args, FleetClient fleet, string path, int limit, IReadOnlyList<ServerAnswer> first, bool json, int width, CancellationToken ct)
    {
        const int Batch = 1000;
        var interval = args.Duration("interval");
        var after = first.ToDictionary(a => a.Name, a => (long?)a.Body?["latest"] ?? 0, StringComparer.Ordinal);
        var down = first.Where(a => !a.Answered).Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        var batchPath = path.Replace($"limit={limit}", $"limit={Batch}", StringComparison.Ordinal);
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(interval, ct);
            var names = after.Keys.ToList();
            var answers = await Task.WhenAll(names.Select(n => fleet.GetOneAsync(n, $"{batchPath}&after={after[n]}", ct)));
            foreach (var a in answers)
            {
                if (!a.Answered)
                {
                    if (down.Add(a.Name)) Console.Error.WriteLine($"flowwatch flows: server {a.Name} ({a.Address}) stopped answering: {a.Error}");
                    continue;
                }
                if (down.Remove(a.Name)) Console.Error.WriteLine($"flowwatch flows: server {a.Name} answers again");
                var flows = a.Body!["flows"] as JsonArray ?? [];
                var latest = (long?)a.Body!["latest"] ?? after[a.Name];
                after[a.Name] = flows.Count == Batch ? (long?)flows[^1]?["id"] ?? latest : Math.Max(after[a.Name], latest);
            }
            Print(Flows(answers).OrderBy(f => f.Flow.Time).ThenBy(f => f.Cluster, StringComparer.Ordinal).ToList(), json, ref width);
        }
        return 0;
    }

    public static async Task<int> HealthAsync(ParsedArgs args, FleetClient fleet, CancellationToken ct)
    {
        var (ns, pod) = QueryCommands.Target(args, QueryCommands.HealthSpec, "NAMESPACE/POD");
        var answers = await fleet.GetAllAsync($"api/v1/pods/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(pod)}/health", ct);
        var found = answers.Where(a => a.Answered).ToList();
        if (IsJson(args))
            Console.Out.WriteLine(Json(new JsonObject
            {
                ["servers"] = FleetClient.Servers(answers),
                ["pods"] = new JsonArray(found.Select(a => (JsonNode)FleetClient.WithCluster(a.Body!, a.Cluster)).ToArray()),
            }));
        else
            foreach (var a in found)
            {
                if (a != found[0]) Console.Out.WriteLine();
                Console.Out.WriteLine($"cluster {a.Cluster}:");
                Console.Out.Write(HealthReport.Render(FleetClient.Typed<PodHealthResponse>(a.Body!), QueryCommands.Width(args), DateTimeOffset.UtcNow));
            }
        return NotFoundAnywhere("health", $"pod {ns}/{pod}", answers) ?? FleetClient.Report("health", answers, notFoundIsAnAnswer: true);
    }

    public static async Task<int> BackendsAsync(ParsedArgs args, FleetClient fleet, CancellationToken ct)
    {
        var (ns, service) = QueryCommands.Target(args, QueryCommands.BackendsSpec, "NAMESPACE/SERVICE");
        var answers = await fleet.GetAllAsync($"api/v1/services/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(service)}/backends", ct);
        var found = answers.Where(a => a.Answered).ToList();
        if (IsJson(args))
            Console.Out.WriteLine(Json(new JsonObject
            {
                ["servers"] = FleetClient.Servers(answers),
                ["services"] = new JsonArray(found.Select(a => (JsonNode)FleetClient.WithCluster(a.Body!, a.Cluster)).ToArray()),
            }));
        else if (found.Count > 0)
        {
            var rows = new List<(string Cluster, BackendHealth Backend)>();
            foreach (var a in found)
            {
                var answer = FleetClient.Typed<BackendsResponse>(a.Body!);
                var states = answer.Backends.GroupBy(b => b.State).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}");
                Console.Out.WriteLine($"service {answer.Namespace}/{answer.Service} in {a.Cluster}: {answer.Backends.Count} backends ({string.Join(", ", states)})");
                rows.AddRange(answer.Backends.Select(b => (a.Cluster, b)));
            }
            if (rows.Count > 0) Console.Out.Write(QueryTables.Backends(rows, DateTimeOffset.UtcNow));
        }
        return NotFoundAnywhere("backends", $"service {ns}/{service}", answers) ?? FleetClient.Report("backends", answers, notFoundIsAnAnswer: true);
    }

    // Every server answered and none knows the object: the same "unknown" as one server's 404, exit 1.
    private static int? NotFoundAnywhere(string command, string what, IReadOnlyList<ServerAnswer> answers)
    {
        if (!answers.All(a => a.NotFound)) return null;
        Console.Error.WriteLine($"flowwatch {command}: {what} is unknown to every server ({string.Join(", ", answers.Select(a => a.Name))})");
        return 1;
    }

    private static IEnumerable<(string Cluster, FlowView Flow, JsonObject Json)> Flows(IEnumerable<ServerAnswer> answers)
    {
        foreach (var a in answers.Where(a => a.Answered))
            foreach (var item in a.Body!["flows"] as JsonArray ?? [])
                if (item is not null)
                    yield return (a.ClusterOf(item), FleetClient.Typed<FlowView>(item), FleetClient.WithCluster(item, a.ClusterOf(item)));
    }

    // The CLUSTER column of flow lines is as wide as the longest cluster printed so far, so a followed stream stays aligned.
    private static void Print(IReadOnlyList<(string Cluster, FlowView Flow, JsonObject Json)> flows, bool json, ref int width)
    {
        foreach (var (cluster, flow, node) in flows)
        {
            if (json) { Console.Out.WriteLine(node.ToJsonString(ApiJson.Options)); continue; }
            width = Math.Max(width, cluster.Length);
            Console.Out.WriteLine($"{cluster.PadRight(width)}  {QueryTables.FlowLine(flow)}");
        }
    }

    private static string Clusters(IReadOnlyList<ServerAnswer> answers)
    {
        var answered = answers.Where(a => a.Answered).Select(a => a.Cluster).Distinct(StringComparer.Ordinal).ToList();
        return answered.Count == 1 ? $"cluster {answered[0]}" : $"{answered.Count} clusters";
    }

    private static bool IsJson(ParsedArgs args) => args.Get("output") == "json";

    private static string Json(JsonObject o) => o.ToJsonString(ApiJson.Indented);
}
