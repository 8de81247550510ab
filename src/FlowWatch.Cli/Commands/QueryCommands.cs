using System.Text.Json;
using FlowWatch.Api;
using FlowWatch.Cli.CommandLine;
using FlowWatch.Cli.Terminal;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch flows | findings | health | backends</c>: ask a running FlowWatch's query API and print tables or JSON.</summary>
public static class QueryCommands
{
    private const string DefaultServer = "http://127.0.0.1:9090";

    private static readonly OptionSpec Server = new("server",
        "Address of a running FlowWatch (demo or watch). Repeat as NAME=URL to ask several at once (one per cluster or shard): " +
        "answers merged with a CLUSTER column; exit 3 when some servers did not answer (the rest are shown), 1 when none did.",
        "[NAME=]URL", DefaultServer);
    private static readonly OptionSpec Output = new("output", "table (cut to the terminal's width), wide (nothing cut) or json.", "FORMAT", "table", 'o');
    private static readonly OptionSpec TokenFile = new("token-file", "File holding the bearer token a protected FlowWatch asks for (default: $FLOWWATCH_TOKEN).", "FILE");
    private static readonly OptionSpec CaFile = new("ca-file", "PEM CA bundle that signs an https --server's certificate (for a private CA).", "FILE");
    private static readonly OptionSpec ClustersFileOption = new("clusters-file",
        "YAML list of servers to ask at once, each with its own token and CA: servers: [{name, url, token-file, ca-file}] (relative paths from the file's directory).",
        "FILE");

    public static readonly CommandSpec FlowsSpec = new("flows",
        "recent flows from a running FlowWatch, like hubble observe",
        "[options]",
        [
            new("namespace", "Flows from or to pods in this namespace.", "NS"),
            new("pod", "Flows from or to pods whose name starts with this (NS/PREFIX, or PREFIX in any namespace).", "POD"),
            new("workload", "Flows from or to pods of this workload.", "NAME"),
            new("from-namespace", "Flows from pods in this namespace.", "NS"),
            new("to-namespace", "Flows to pods in this namespace.", "NS"),
            new("from-pod", "Flows from pods whose name starts with this (NS/PREFIX).", "POD"),
            new("to-pod", "Flows to pods whose name starts with this (NS/PREFIX).", "POD"),
            new("ip", "Flows from or to this IP address or CIDR block.", "IP"),
            new("from-ip", "Flows from this IP address or CIDR block.", "IP"),
            new("to-ip", "Flows to this IP address or CIDR block.", "IP"),
            new("port", "Flows from or to this port.", "N"),
            new("from-port", "Flows from this port.", "N"),
            new("to-port", "Flows to this port.", "N"),
            new("protocol", "tcp, udp, sctp, icmp, icmpv4, icmpv6, dns or http.", "PROTO"),
            new("verdict", "forwarded, dropped, error, audit, redirected, traced or translated.", "VERDICT"),
            new("identity", "Flows from or to this Cilium security identity (2 is world).", "N"),
            new("from-identity", "Flows from this Cilium security identity.", "N"),
            new("to-identity", "Flows to this Cilium security identity.", "N"),
            new("type", "Cilium event type as hubble's --type: drop, trace, policy-verdict, l7, ...; trace:to-endpoint for a sub-type.", "TYPE"),
            new("label", "Flows from or to an endpoint these labels select, as hubble's --label: a Kubernetes selector over Cilium's labels (k8s:app=web, 'app in (web,api)', '!k8s:app', reserved:world).", "SELECTOR"),
            new("from-label", "Flows from an endpoint these labels select.", "SELECTOR"),
            new("to-label", "Flows to an endpoint these labels select.", "SELECTOR"),
            new("reason", "Drop reason, by Cilium's name (POLICY_DENIED) or number.", "REASON"),
            new("node", "Flows observed on this node.", "NODE"),
            new("since", "Only flows at or after: RFC 3339 time or an age such as 5m.", "TIME"),
            new("until", "Only flows at or before: RFC 3339 time or an age such as 1m.", "TIME"),
            new("limit", "Most flows to show (newest), 1..10000.", "N", "20", 'n'),
            new("follow", "Keep printing new flows as they arrive (polls the server).", Short: 'f'),
            new("interval", "How often --follow polls.", "DURATION", "1s"),
            new("all", "Every stored flow that matches, oldest first (with -o jsonpb or -o json): an export of a recorded incident."),
            Server, ClustersFileOption,
            new("output", "table (cut to the terminal's width), wide (nothing cut), jsonpb or json (the GetFlowsResponse lines hubble observe -o jsonpb writes; json is an alias, as in hubble) or api (the query API's JSON answer).", "FORMAT", "table", 'o'),
            TokenFile, CaFile,
        ],
        """
        -o jsonpb (and its alias -o json, as in hubble v0.12.3) writes one GetFlowsResponse a line, oldest first, byte for
        byte as hubble observe -o jsonpb would: hubble observe --input-file and flowwatch replay read them back. The store keeps compact flows, so the lines hold
        time, uuid, verdict, drop reason, IPs, ports, TCP flags, ICMP, each side's identity, namespace, labels, pod and
        workload, node, flow and event type, services, direction, observation point, reply, and DNS query/qtype/rcode or
        HTTP code/method/url; not endpoint IDs, DNS answers, HTTP headers or latency.
        Examples:
          flowwatch flows --verdict dropped
          flowwatch flows --pod shop/checkout-5d9f7c6b8-x2x7q --since 10m
          flowwatch flows --namespace kube-system --port 53 -f
          flowwatch flows --to-label k8s:app=storefront --verdict dropped
          flowwatch flows --all -o jsonpb > incident.jsonl      # then: hubble observe --input-file incident.jsonl
          flowwatch flows --verdict dropped --server eu=http://127.0.0.1:9090 --server us=http://127.0.0.1:9091
        With several --server NAME=URL, the newest --limit flows of all servers are merged by time, each line led by
        its cluster (-o api: one JSON answer, each flow with its cluster); -f follows every server and says on stderr
        when one stops (and starts again) answering. -o jsonpb, -o json and --all export one server at a time (hubble's
        lines do not say which server a flow came from): with several servers they are refused, naming each way out.
        """);

    public static readonly CommandSpec FindingsSpec = new("findings",
        "open and recently resolved findings from a running FlowWatch",
        "[options]",
        [
            new("kind", "dns_drops, duplicate_ip, unmanaged_pod, asymmetric_path or backend_unhealthy.", "KIND"),
            new("namespace", "Only findings about this namespace.", "NS"),
            new("state", "open, resolved or all.", "STATE", "all"),
            new("limit", "Most findings to show (the most severe), 1..1000.", "N", "100", 'n'),
            Server, ClustersFileOption, Output, TokenFile, CaFile,
        ],
        """
        Rows are sorted open first, then by severity, then the longest-running first. SUBJECT and SUMMARY are cut to
        the terminal's width; -o wide shows them whole, -o json shows everything.
        Examples:
          flowwatch findings --state open
          flowwatch findings --kind dns_drops -o wide
          flowwatch findings --state open --server eu=http://127.0.0.1:9090 --server us=http://127.0.0.1:9091
        With several --server NAME=URL, every server is asked at once and the rows merged, sorted as above, with a
        CLUSTER column (the cluster each answer names, else NAME). Servers that do not answer are named on stderr and
        the command exits 3 with the others' rows; it exits 1 when none answers.
        """);

    public static readonly CommandSpec HealthSpec = new("health",
        "everything a running FlowWatch knows about one pod",
        "NAMESPACE/POD [options]", [Server, ClustersFileOption, Output, TokenFile, CaFile],
        """
        With several --server NAME=URL, each cluster that knows the pod prints its report under "cluster NAME:";
        exit 1 when no server knows it, 3 when some servers did not answer.
        """);

    public static readonly CommandSpec BackendsSpec = new("backends",
        "per-backend health behind a NodePort/LoadBalancer service",
        "NAMESPACE/SERVICE [options]", [Server, ClustersFileOption, Output, TokenFile, CaFile],
        """
        With several --server NAME=URL, the backends of the service in every cluster that has it are listed together,
        worst first, with a CLUSTER column; exit 1 when no server knows the service, 3 when some did not answer.
        """);

    private static readonly string[] FlowFilters = ["namespace", "pod", "workload", "from-namespace", "to-namespace", "from-pod", "to-pod",
        "ip", "from-ip", "to-ip", "port", "from-port", "to-port", "protocol", "verdict", "reason", "node", "since", "until",
        "identity", "from-identity", "to-identity", "type", "label", "from-label", "to-label"];

    internal static string FlowsPath(ParsedArgs args, int limit) =>
        "api/v1/flows?" + string.Join("&", FlowFilters.Where(args.Has).Select(name => $"{name.Replace('-', '_')}={Uri.EscapeDataString(args.Get(name)!)}")
            .Append($"limit={limit}"));

    internal static string FindingsPath(ParsedArgs args) =>
        "api/v1/findings?" + string.Join("&", new[] { "kind", "namespace", "state" }.Where(args.Has).Select(n => $"{n}={Uri.EscapeDataString(args.Get(n)!)}"));

    public static Task<int> FlowsAsync(string[] argv, CancellationToken ct) => Run(FlowsSpec, argv, ct, async (args, api, json) =>
    {
        var filters = FlowFilters.Where(args.Has).Select(name => $"{name.Replace('-', '_')}={Uri.EscapeDataString(args.Get(name)!)}").ToList();
        if (args.Get("output") is "jsonpb" or "json") return await FlowExport.RunAsync(args, api, filters, ct);
        if (args.Flag("all")) throw new UsageException("--all exports every stored flow: give it with -o jsonpb or -o json.");
        var limit = args.Int("limit", 1, 10_000);
        var path = FlowsPath(args, limit);
        var (page, raw) = await api.GetAsync<FlowsResponse>(path, ct);
        var follow = args.Flag("follow");
        if (json && !follow) { Console.Out.WriteLine(Pretty(raw)); return 0; }
        // Newest come first from the API; a terminal reads oldest to newest, as hubble observe prints.
        for (var i = page.Flows.Count - 1; i >= 0; i--) Print(page.Flows[i], json);
        if (!follow)
        {
            if (page.Flows.Count > 0) return 0;
            if (await UnknownPod(args, api, ct) is { } unknown)
            {
                Console.Error.WriteLine($"flowwatch flows: no flows match: {unknown}");
                return 1;
            }
            Console.Error.WriteLine($"(no flows match; the store holds {page.Retained:N0})");
            return 0;
        }
        var interval = args.Duration("interval");
        var after = page.Latest;
        const int Batch = 1000;
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(interval, ct);
            var (next, _) = await api.GetAsync<FlowsResponse>($"{path.Replace($"limit={limit}", $"limit={Batch}")}&after={after}", ct);
            foreach (var f in next.Flows) Print(f, json);
            after = next.Flows.Count == Batch ? next.Flows[^1].Id : Math.Max(after, next.Latest);
        }
        return 0;
    });

    public static Task<int> FindingsAsync(string[] argv, CancellationToken ct) => Run(FindingsSpec, argv, ct, async (args, api, json) =>
    {
        var limit = args.Int("limit", 1, 1000);
        // All of them, sorted here: the API pages newest first, and the most severe may be older.
        var (answer, _) = await api.GetAsync<FindingsResponse>(FindingsPath(args), ct);
        var shown = QueryTables.Sorted(answer.Findings).Take(limit).ToList();
        if (json) { Console.Out.WriteLine(JsonSerializer.Serialize(answer with { Findings = shown }, ApiJson.Indented)); return 0; }
        if (answer.Findings.Count == 0) { Console.Out.WriteLine("no findings"); return 0; }
        Console.Out.Write(QueryTables.Findings(shown, Width(args), DateTimeOffset.UtcNow));
        var more = answer.Findings.Count > shown.Count ? $"; showing the first {shown.Count} (--limit)" : "";
        Console.Out.WriteLine($"{answer.Open} open, {answer.Resolved} recently resolved{more}");
        return 0;
    });

    public static Task<int> HealthAsync(string[] argv, CancellationToken ct) => Run(HealthSpec, argv, ct, async (args, api, json) =>
    {
        var (ns, pod) = Target(args, HealthSpec, "NAMESPACE/POD");
        var (answer, raw) = await api.GetAsync<PodHealthResponse>($"api/v1/pods/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(pod)}/health", ct);
        if (json) { Console.Out.WriteLine(Pretty(raw)); return 0; }
        Console.Out.Write(HealthReport.Render(answer, Width(args), DateTimeOffset.UtcNow));
        return 0;
    });

    public static Task<int> BackendsAsync(string[] argv, CancellationToken ct) => Run(BackendsSpec, argv, ct, async (args, api, json) =>
    {
        var (ns, service) = Target(args, BackendsSpec, "NAMESPACE/SERVICE");
        var (answer, raw) = await api.GetAsync<BackendsResponse>($"api/v1/services/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(service)}/backends", ct);
        if (json) { Console.Out.WriteLine(Pretty(raw)); return 0; }
        var states = answer.Backends.GroupBy(b => b.State).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}");
        Console.Out.WriteLine($"service {answer.Namespace}/{answer.Service}: {answer.Backends.Count} backends ({string.Join(", ", states)}), worst first");
        if (answer.Backends.Count > 0) Console.Out.Write(QueryTables.Backends(answer.Backends, DateTimeOffset.UtcNow));
        return 0;
    });

    private static async Task<int> Run(CommandSpec spec, string[] argv, CancellationToken ct, Func<ParsedArgs, ApiClient, bool, Task<int>> body)
    {
        var args = ParsedArgs.Parse(spec, argv);
        if (args.HelpRequested) { Console.Out.Write(spec.Help()); return 0; }
        var output = args.Get("output");
        if (spec == FlowsSpec ? output is not ("table" or "wide" or "jsonpb" or "json" or "api") : output is not ("table" or "wide" or "json"))
            throw new UsageException(spec == FlowsSpec
                ? $"option '--output' must be table, wide, jsonpb, json or api (got '{output}')."
                : $"option '--output' must be table, wide or json (got '{output}').");
        if (spec != HealthSpec && spec != BackendsSpec && args.Positionals.Count > 0)
            throw new UsageException($"unexpected argument '{args.Positionals[0]}'. Run 'flowwatch {spec.Name} --help'.");
        var servers = ServerTargets.Parse(args.GetAll("server"),
            args.Get("clusters-file") is { } clusters ? ClustersFile.Load(clusters) : [], DefaultServer);
        // An export is one server's flows: hubble's lines have no field that says which FlowWatch a flow came from, so
        // the lines of several servers could not be told apart (or de-duplicated) afterwards. One named server is fine.
        var export = spec == FlowsSpec && (output is "jsonpb" or "json" || args.Flag("all"));
        if (export && servers.Count > 1)
            throw new UsageException($"{(output is "jsonpb" or "json" ? $"-o {output}{(args.Flag("all") ? " --all" : "")}" : "--all")} exports one server's flows, as hubble observe writes them " +
                $"(the lines do not say which server a flow came from), and {servers.Count} servers are given. Export each in turn " +
                $"(flowwatch flows --all -o jsonpb --server {servers[0].Url} > {servers[0].Name ?? "cluster"}.jsonl), or use -o api for one JSON answer with each flow's cluster.");
        if (ServerTargets.IsFleet(servers) && !export)
        {
            using var fleet = new FleetClient(servers, Token(args), CaFileOf(args, null));
            return await (spec.Name switch
            {
                "flows" => FleetCommands.FlowsAsync(args, fleet, ct),
                "findings" => FleetCommands.FindingsAsync(args, fleet, ct),
                "health" => FleetCommands.HealthAsync(args, fleet, ct),
                _ => FleetCommands.BackendsAsync(args, fleet, ct),
            });
        }
        var server = servers[0];
        var token = server.TokenFile is { } own ? ReadToken(own, $"option '--clusters-file': the token-file of server {server.Name}") : Token(args);
        using var api = new ApiClient(server.Url, token, server.CaFile ?? CaFileOf(args, server.Url));
        // flows -o json is Hubble's lines (handled before this flag is read); its API answer is -o api.
        try { return await body(args, api, output is "json" or "api"); }
        catch (QueryFailedException e)
        {
            Console.Error.WriteLine($"flowwatch {spec.Name}: {e.Message}");
            return 1;
        }
    }

    internal static int? Width(ParsedArgs args) => args.Get("output") == "wide" ? null : TextWidth.Current();

    // An empty answer for --pod NS/NAME: is the pod unknown to FlowWatch altogether (a typo, a pod long gone)?
    private static async Task<string?> UnknownPod(ParsedArgs args, ApiClient api, CancellationToken ct)
    {
        if (args.Get("pod") is not { } pod) return null;
        var slash = pod.IndexOf('/');
        var ns = slash > 0 ? pod[..slash] : args.Get("namespace");
        var name = slash > 0 ? pod[(slash + 1)..] : pod;
        if (ns is null || name.Length == 0) return null;
        try
        {
            await api.GetAsync<PodHealthResponse>($"api/v1/pods/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(name)}/health", ct);
            return null;
        }
        catch (QueryFailedException e) when (e.Message.StartsWith("404", StringComparison.Ordinal))
        {
            return $"pod {ns}/{name} is unknown to FlowWatch (no detector and no stored flow has seen it); check the name with kubectl get pods -n {ns}";
        }
    }

    private static string? Token(ParsedArgs args)
    {
        if (args.Get("token-file") is not { } file)
            return Environment.GetEnvironmentVariable("FLOWWATCH_TOKEN") is { Length: > 0 } env ? env.Trim() : null;
        return ReadToken(file, "option '--token-file'");
    }

    /// <summary>A bearer token file's content; <paramref name="what"/> starts the message when it cannot be read or is empty.</summary>
    internal static string ReadToken(string file, string what)
    {
        string text;
        try { text = File.ReadAllText(file).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{what}: cannot read {file} ({e.GetType().Name}).");
        }
        return text.Length > 0 ? text : throw new UsageException($"{what}: {file} is empty.");
    }

    // server: the single server's URL; null for a fleet (FleetClient applies the file to its https servers).
    private static string? CaFileOf(ParsedArgs args, string? server)
    {
        var file = args.Get("ca-file");
        if (file is not null && !File.Exists(file)) throw new UsageException($"option '--ca-file': {file} does not exist.");
        if (file is not null && server is not null && !server.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw new UsageException("option '--ca-file' is for an https server: write --server https://HOST:PORT.");
        return file;
    }

    internal static (string, string) Target(ParsedArgs args, CommandSpec spec, string shape)
    {
        if (args.Positionals.Count != 1)
            throw new UsageException($"give one {shape} (for example {(shape.EndsWith("POD") ? "shop/checkout-5d9f7c6b8-x2x7q" : "web/storefront")}). Run 'flowwatch {spec.Name} --help'.");
        var text = args.Positionals[0];
        var slash = text.IndexOf('/');
        if (slash <= 0 || slash == text.Length - 1 || text.IndexOf('/', slash + 1) >= 0)
            throw new UsageException($"'{text}' is not {shape}.");
        return (text[..slash], text[(slash + 1)..]);
    }

    private static void Print(FlowView flow, bool json) =>
        Console.Out.WriteLine(json ? JsonSerializer.Serialize(flow, ApiJson.Options) : QueryTables.FlowLine(flow));

    private static string Pretty(string raw)
    {
        using var doc = JsonDocument.Parse(raw);
        return JsonSerializer.Serialize(doc.RootElement, ApiJson.Indented);
    }

}
