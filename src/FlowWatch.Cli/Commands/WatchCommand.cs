using FlowWatch.Cli.CommandLine;
using FlowWatch.Hosting;
using FlowWatch.Hubble;
using FlowWatch.Kubernetes.Watching;
using FlowWatch.Remediation;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch watch</c>: follow a real Hubble Relay or agent, serve metrics and probes, print progress.</summary>
public static class WatchCommand
{
    public static readonly CommandSpec Spec = new("watch",
        "watch a Hubble Relay or agent and publish findings and metrics",
        "--hubble TARGET [options]",
        [
            new("hubble", "Hubble Relay or agent: host:port (plaintext h2c), https://host:port (TLS) or unix:///var/run/cilium/hubble.sock. " +
                "Repeat as NAME=TARGET for several sources in one process (each its own connection, resume point and checkpoint entry).", "[NAME=]TARGET"),
            new("tls-ca", "PEM bundle of the CAs that sign Hubble's server certificate (default: the system's CAs). NAME=FILE: for source NAME only.", "[NAME=]FILE"),
            new("tls-cert", "PEM client certificate for mutual TLS (with --tls-key). NAME=FILE: for source NAME only.", "[NAME=]FILE"),
            new("tls-key", "PEM private key of --tls-cert. NAME=FILE: for source NAME only.", "[NAME=]FILE"),
            new("tls-server-name", "Name Hubble's certificate must carry, as hubble's --tls-server-name (e.g. '*.hubble-relay.cilium.io'). NAME=VALUE: for source NAME only.", "[NAME=]NAME"),
            new("namespace", "Only flows from or to this namespace; repeat or comma-separate for several.", "NS"),
            new("node", "Only flows seen on this node (Hubble pattern: node, k8s*, cluster/node); repeatable.", "NODE"),
            new("idle-timeout", "Reopen a stream that delivers nothing for this long.", "DURATION", "60s"),
            new("listen", "Address for /metrics, /healthz and /readyz.", "HOST:PORT", "127.0.0.1:9090"),
            new("progress", "How often the status is redrawn (live view) or printed (progress line); auto: 1s live, 15s as lines.", "DURATION", "auto"),
            new("view", "auto (the live view when stdout is a terminal, lines otherwise), live or lines.", "MODE", "auto"),
            new("kubeconfig", "Kubeconfig for cluster state (pods, services, CiliumEndpoints, ...). In a pod, the service account is used without it.", "FILE"),
            new("context", "Kubeconfig context to use (default: the current one).", "NAME"),
            new("kube-page-size", "Objects per Kubernetes list page (limit + continue, as client-go's reflector lists); 0 lists each kind unpaged.", "N", new WatchOptions().ListPageSize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("no-watch-list", "Sync Kubernetes state by paged list-then-watch even where the API server offers watch-list streaming (sendInitialEvents)."),
            new("remediate", "What to do about pods Cilium does not manage that hold a duplicate IP: off, dry-run (log and count) or evict.", "MODE", "off"),
            new("remediate-exclude", "Namespaces remediation never touches (comma-separated, repeatable).", "NS[,NS]", "kube-system"),
            new("remediate-max", "Evictions (or dry-run reports) per 10 minutes, at most.", "N", "1"),
            new("leader-lease-duration", "With several replicas, how long the remediation Lease holds without renewal: a new leader takes over at most this long after the old one dies (renewed every 2/3 of it, retried every 1/7.5).", "DURATION", "15s"),
            ClusterFlag.Option,
            .. RuntimeFlags.Options,
            .. DetectorFlags.Options,
        ],
        """
        Example:
          kubectl -n kube-system port-forward svc/hubble-relay 4245:80 &
          flowwatch watch --hubble 127.0.0.1:4245
          flowwatch watch --hubble https://hubble-relay:443 --tls-ca ca.crt --tls-cert tls.crt --tls-key tls.key \
            --tls-server-name '*.hubble-relay.cilium.io' --namespace shop,payments
          flowwatch watch --hubble 127.0.0.1:4245 --kubeconfig ~/.kube/config --remediate dry-run
          flowwatch watch --cluster mesh-eu --hubble eu-1=https://relay.eu-1:443 --tls-ca eu-1=eu-1-ca.crt \
            --hubble eu-2=https://relay.eu-2:443 --tls-ca eu-2=eu-2-ca.crt --tls-cert client.crt --tls-key client.key

        Several sources: an unkeyed --tls-* applies to every https source without its own; --namespace, --node and
        --idle-timeout apply to all. They share the process's bounds (one intake queue, store and detector tables; the
        resume window's memory split evenly), and /readyz is ready only while every source's stream is open. Give each
        source a NAME: the checkpoint records its resume point under it (a plain TARGET's is read under that target).
        Every metric and answer carries the one --cluster of the process (without --cluster: the cluster_name Cilium
        puts on the endpoints of Hubble's recent flows, asked at start, else 'default'). In a ClusterMesh a finding about
        another cluster's pod names that cluster, but the detectors do not tell apart one namespace and workload in two
        clusters: several sources are for one cluster's Relays or agents (or one ClusterMesh); run one FlowWatch per
        cluster otherwise. The intake queue is fair between sources: the one with the most flows queued is shed first.
          flowwatch watch --hubble 127.0.0.1:4245 --listen :9090 --api-token-file /etc/flowwatch/token \
            --listen-tls-cert tls.crt --listen-tls-key tls.key --checkpoint /var/lib/flowwatch/checkpoint.json
        """);

    public static async Task<int> RunAsync(string[] argv, CancellationToken ct)
    {
        var args = ParsedArgs.Parse(Spec, argv);
        if (args.HelpRequested) { Console.Out.Write(Spec.Help()); return 0; }
        var sources = HubbleSourceFlags.Build(args);
        var progress = Progress(args);
        var watching = string.Join(", ", sources.Select(Describe));
        var settings = WatcherSettings.From(args) with { Kubernetes = KubernetesArgs(args), LiveView = View(args), Title = $"FlowWatch — watching {watching}" };
        try { HttpEndpoint.ParseListen(args.Get("listen")!); }
        catch (FormatException e) { throw new UsageException($"option '--listen': {e.Message}"); }
        if (!args.Has("cluster"))
        {
            // The cluster label is static (set before any metric exists), so the name is settled before the watcher starts.
            var found = await ClusterDiscovery.DiscoverAsync(sources, ClusterFlag.DiscoveryTimeout, ct);
            settings = settings with { Cluster = found.Name, ClusterOrigin = found.Why };
        }
        return await RunWatcherAsync(sources, args.Get("listen")!, progress, null, ct, settings);
    }

    /// <summary>--view: whether the live view is shown (auto: when stdout is a terminal that takes escape codes).</summary>
    public static bool View(ParsedArgs args) => args.Get("view") switch
    {
        "live" => true,
        "lines" => false,
        "auto" => !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") is not (null or "" or "dumb"),
        var other => throw new UsageException($"option '--view' must be auto, live or lines (got '{other}')."),
    };

    /// <summary>--progress, which must be a positive duration; auto is 1s for the live view and 15s for progress lines.</summary>
    public static TimeSpan Progress(ParsedArgs args)
    {
        if (args.Get("progress") == "auto") return View(args) ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(15);
        var every = args.Duration("progress");
        if (every < TimeSpan.FromMilliseconds(100))
            throw new UsageException($"option '--progress' must be at least 100ms, such as 2s or 30s (got '{args.Get("progress")}').");
        return every;
    }

    /// <summary>The cluster-state and remediation settings of the command line; a bad value fails here, naming its flag.</summary>
    public static KubernetesSettings KubernetesArgs(ParsedArgs args)
    {
        RemediationMode mode;
        try { mode = RemediationOptions.ParseMode(args.Get("remediate")!); }
        catch (FormatException e) { throw new UsageException($"option '--remediate': {e.Message}."); }
        var exclude = args.Has("remediate-exclude") ? args.GetAll("remediate-exclude") : ["kube-system"];
        return new KubernetesSettings
        {
            Kubeconfig = args.Get("kubeconfig"), Context = args.Get("context"),
            Watch = new WatchOptions { ListPageSize = args.Int("kube-page-size", 0, 100_000), WatchList = !args.Flag("no-watch-list") },
            Remediation = new RemediationOptions { Mode = mode, ExcludedNamespaces = exclude, MaxPerInterval = args.Int("remediate-max", 1, 1000) },
            Leadership = Leadership(args),
        };
    }

    /// <summary>--leader-lease-duration, with client-go's proportions (15 s lease, 10 s renew deadline, 2 s retry).</summary>
    private static LeadershipOptions Leadership(ParsedArgs args)
    {
        var lease = args.Duration("leader-lease-duration");
        if (lease < TimeSpan.FromSeconds(1))
            throw new UsageException($"option '--leader-lease-duration' must be at least 1s, such as 15s (got '{args.Get("leader-lease-duration")}').");
        return new LeadershipOptions { LeaseDuration = lease, RenewDeadline = lease * 2 / 3, RetryPeriod = lease / 7.5 };
    }

    private static string Describe(HubbleSourceSpec s) => s.Name is null ? s.Target : $"{s.Name}={s.Target}";

    /// <summary>The Hubble client settings of the command line for <paramref name="target"/> (a source's target or name), checked now.</summary>
    public static HubbleClientOptions ClientOptions(ParsedArgs args, string target) =>
        HubbleSourceFlags.Build(args).First(s => s.Target == target || s.Key == target || s.Name + "=" + s.Target == target).Options;

    /// <summary>The watcher shared by watch and demo, as a Generic Host (<see cref="Composition.WatcherHost"/>): runtime, HTTP endpoint, Hubble stream, cluster state, progress, checkpoint.</summary>
    public static Task<int> RunWatcherAsync(string target, string listen, TimeSpan progressEvery,
        IReadOnlyList<Kubernetes.ClusterEvent>? clusterView, CancellationToken ct, HubbleClientOptions? hubble = null,
        WatcherSettings? settings = null) =>
        RunWatcherAsync([new HubbleSourceSpec(null, target, hubble ?? new HubbleClientOptions())], listen, progressEvery, clusterView, ct, settings);

    /// <inheritdoc cref="RunWatcherAsync(string, string, TimeSpan, IReadOnlyList{Kubernetes.ClusterEvent}?, CancellationToken, HubbleClientOptions?, WatcherSettings?)"/>
    public static Task<int> RunWatcherAsync(IReadOnlyList<HubbleSourceSpec> specs, string listen, TimeSpan progressEvery,
        IReadOnlyList<Kubernetes.ClusterEvent>? clusterView, CancellationToken ct, WatcherSettings? settings = null) =>
        Composition.WatcherHost.RunAsync(new Composition.WatcherPlan(specs, clusterView), listen, progressEvery, settings ?? new WatcherSettings(), ct);
}
