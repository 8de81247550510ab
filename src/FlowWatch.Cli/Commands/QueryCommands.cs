using System.Text.Json;
using FlowWatch.Api;
using FlowWatch.Cli.CommandLine;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch flows | findings | health | backends</c>: ask a running FlowWatch's query API and print tables or JSON.</summary>
public static class QueryCommands
{
    private const string DefaultServer = "http://127.0.0.1:9090";

    private static readonly OptionSpec Server = new("server", "Address of a running FlowWatch (demo or watch).", "URL", DefaultServer);
    private static readonly OptionSpec Output = new("output", "table or json.", "FORMAT", "table", 'o');
    private static readonly OptionSpec TokenFile = new("token-file", "File holding the bearer token a protected FlowWatch asks for (default: $FLOWWATCH_TOKEN).", "FILE");
    private static readonly OptionSpec CaFile = new("ca-file", "PEM CA bundle that signs an https --server's certificate (for a private CA).", "FILE");

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
            new("reason", "Drop reason, by Cilium's name (POLICY_DENIED) or number.", "REASON"),
            new("node", "Flows observed on this node.", "NODE"),
            new("since", "Only flows at or after: RFC 3339 time or an age such as 5m.", "TIME"),
            new("until", "Only flows at or before: RFC 3339 time or an age such as 1m.", "TIME"),
            new("limit", "Most flows to show (newest), 1..10000.", "N", "20", 'n'),
            new("follow", "Keep printing new flows as they arrive (polls the server).", Short: 'f'),
            new("interval", "How often --follow polls.", "DURATION", "1s"),
            Server, Output, TokenFile, CaFile,
        ],
        """
        Examples:
          flowwatch flows --verdict dropped
          flowwatch flows --pod shop/checkout-5d9f7c6b8-x2x7q --since 10m
          flowwatch flows --namespace kube-system --port 53 -f
        """);

    public static readonly CommandSpec FindingsSpec = new("findings",
        "open and recently resolved findings from a running FlowWatch",
        "[options]",
        [
            new("kind", "dns_drops, duplicate_ip, unmanaged_pod, asymmetric_path or backend_unhealthy.", "KIND"),
            new("namespace", "Only findings about this namespace.", "NS"),
            new("state", "open, resolved or all.", "STATE", "all"),
            Server, Output, TokenFile, CaFile,
        ]);

    public static readonly CommandSpec HealthSpec = new("health",
        "everything a running FlowWatch knows about one pod",
        "NAMESPACE/POD [options]", [Server, Output, TokenFile, CaFile]);

    public static readonly CommandSpec BackendsSpec = new("backends",
        "per-backend health behind a NodePort/LoadBalancer service",
        "NAMESPACE/SERVICE [options]", [Server, Output, TokenFile, CaFile]);

    private static readonly string[] FlowFilters = ["namespace", "pod", "workload", "from-namespace", "to-namespace", "from-pod", "to-pod",
        "ip", "from-ip", "to-ip", "port", "from-port", "to-port", "protocol", "verdict", "reason", "node", "since", "until"];

    public static Task<int> FlowsAsync(string[] argv, CancellationToken ct) => Run(FlowsSpec, argv, ct, async (args, api, json) =>
    {
        var filters = FlowFilters.Where(args.Has).Select(name => $"{name.Replace('-', '_')}={Uri.EscapeDataString(args.Get(name)!)}").ToList();
        var limit = args.Int("limit", 1, 10_000);
        var path = "api/v1/flows?" + string.Join("&", filters.Append($"limit={limit}"));
        var (page, raw) = await api.GetAsync<FlowsResponse>(path, ct);
        var follow = args.Flag("follow");
        if (json && !follow) { Console.Out.WriteLine(Pretty(raw)); return 0; }
        // Newest come first from the API; a terminal reads oldest to newest, as hubble observe prints.
        for (var i = page.Flows.Count - 1; i >= 0; i--) Print(page.Flows[i], json);
        if (!follow)
        {
            if (page.Flows.Count == 0) Console.Error.WriteLine($"(no flows match; the store holds {page.Retained:N0})");
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
        var filters = new[] { "kind", "namespace", "state" }.Where(args.Has).Select(n => $"{n}={Uri.EscapeDataString(args.Get(n)!)}");
        var (answer, raw) = await api.GetAsync<FindingsResponse>("api/v1/findings?" + string.Join("&", filters), ct);
        if (json) { Console.Out.WriteLine(Pretty(raw)); return 0; }
        if (answer.Findings.Count == 0) { Console.Out.WriteLine("no findings"); return 0; }
        Console.Out.Write(QueryTables.Findings(answer.Findings));
        Console.Out.WriteLine($"{answer.Open} open, {answer.Resolved} recently resolved");
        return 0;
    });

    public static Task<int> HealthAsync(string[] argv, CancellationToken ct) => Run(HealthSpec, argv, ct, async (args, api, json) =>
    {
        var (ns, pod) = Target(args, HealthSpec, "NAMESPACE/POD");
        var (answer, raw) = await api.GetAsync<PodHealthResponse>($"api/v1/pods/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(pod)}/health", ct);
        if (json) { Console.Out.WriteLine(Pretty(raw)); return 0; }
        Console.Out.WriteLine($"pod {answer.Namespace}/{answer.Pod} — known by: {string.Join(", ", answer.KnownBy)}");
        foreach (var (name, section) in answer.Sections)
        {
            Console.Out.WriteLine();
            Console.Out.WriteLine($"{name}:");
            Console.Out.WriteLine(Indent(JsonSerializer.Serialize(section, ApiJson.Indented)));
        }
        Console.Out.WriteLine();
        Console.Out.WriteLine(answer.Findings.Count == 0 ? "findings: none" : "findings:");
        if (answer.Findings.Count > 0) Console.Out.Write(Indent(QueryTables.Findings(answer.Findings)));
        Console.Out.WriteLine(answer.RecentDrops.Count == 0 ? "recent drops: none in the store" : $"recent drops (newest {answer.RecentDrops.Count}):");
        for (var i = answer.RecentDrops.Count - 1; i >= 0; i--) Console.Out.WriteLine("  " + QueryTables.FlowLine(answer.RecentDrops[i]));
        return 0;
    });

    public static Task<int> BackendsAsync(string[] argv, CancellationToken ct) => Run(BackendsSpec, argv, ct, async (args, api, json) =>
    {
        var (ns, service) = Target(args, BackendsSpec, "NAMESPACE/SERVICE");
        var (answer, raw) = await api.GetAsync<BackendsResponse>($"api/v1/services/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(service)}/backends", ct);
        if (json) { Console.Out.WriteLine(Pretty(raw)); return 0; }
        Console.Out.WriteLine($"service {answer.Namespace}/{answer.Service}: {answer.Backends.Count} backends");
        if (answer.Backends.Count > 0) Console.Out.Write(QueryTables.Backends(answer.Backends));
        return 0;
    });

    private static async Task<int> Run(CommandSpec spec, string[] argv, CancellationToken ct, Func<ParsedArgs, ApiClient, bool, Task<int>> body)
    {
        var args = ParsedArgs.Parse(spec, argv);
        if (args.HelpRequested) { Console.Out.Write(spec.Help()); return 0; }
        var output = args.Get("output");
        if (output is not ("table" or "json"))
            throw new UsageException($"option '--output' must be table or json (got '{output}').");
        if (spec != HealthSpec && spec != BackendsSpec && args.Positionals.Count > 0)
            throw new UsageException($"unexpected argument '{args.Positionals[0]}'. Run 'flowwatch {spec.Name} --help'.");
        using var api = new ApiClient(args.Get("server")!, Token(args), CaFileOf(args));
        try { return await body(args, api, output == "json"); }
        catch (QueryFailedException e)
        {
            Console.Error.WriteLine($"flowwatch {spec.Name}: {e.Message}");
            return 1;
        }
    }

    private static string? Token(ParsedArgs args)
    {
        if (args.Get("token-file") is not { } file)
            return Environment.GetEnvironmentVariable("FLOWWATCH_TOKEN") is { Length: > 0 } env ? env.Trim() : null;
        string text;
        try { text = File.ReadAllText(file).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"option '--token-file': cannot read {file} ({e.GetType().Name}).");
        }
        return text.Length > 0 ? text : throw new UsageException($"option '--token-file': {file} is empty.");
    }

    private static string? CaFileOf(ParsedArgs args)
    {
        var file = args.Get("ca-file");
        if (file is not null && !File.Exists(file)) throw new UsageException($"option '--ca-file': {file} does not exist.");
        if (file is not null && !args.Get("server")!.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw new UsageException("option '--ca-file' is for an https server: write --server https://HOST:PORT.");
        return file;
    }

    private static (string, string) Target(ParsedArgs args, CommandSpec spec, string shape)
    {
        if (args.Positionals.Count != 1)
            throw new UsageException($"give one {shape} (for example {(shape.EndsWith("POD") ? "shop/checkout-5d9f7c6b8-x2x7q" : "shop/checkout-nodeport")}). Run 'flowwatch {spec.Name} --help'.");
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

    private static string Indent(string text) =>
        string.Join("\n", text.TrimEnd('\n').Split('\n').Select(l => "  " + l)) + "\n";
}
