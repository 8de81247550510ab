using FlowWatch.Cli.CommandLine;
using FlowWatch.Hosting;
using FlowWatch.Hubble;
using FlowWatch.Remediation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Cli.Commands;

/// <summary><c>flowwatch watch</c>: follow a real Hubble Relay or agent, serve metrics and probes, print progress.</summary>
public static class WatchCommand
{
    public static readonly CommandSpec Spec = new("watch",
        "watch a Hubble Relay or agent and publish findings and metrics",
        "--hubble TARGET [options]",
        [
            new("hubble", "Hubble Relay address: host:port (plaintext h2c) or https://host:port.", "TARGET"),
            new("listen", "Address for /metrics, /healthz and /readyz.", "HOST:PORT", "127.0.0.1:9090"),
            new("progress", "How often to print a progress line.", "DURATION", "2s"),
            new("kubeconfig", "Kubeconfig for cluster state (pods, services, CiliumEndpoints, ...). In a pod, the service account is used without it.", "FILE"),
            new("context", "Kubeconfig context to use (default: the current one).", "NAME"),
            new("remediate", "What to do about pods Cilium does not manage that hold a duplicate IP: off, dry-run (log and count) or evict.", "MODE", "off"),
            new("remediate-exclude", "Namespaces remediation never touches (comma-separated, repeatable).", "NS[,NS]", "kube-system"),
            new("remediate-max", "Evictions (or dry-run reports) per 10 minutes, at most.", "N", "1"),
        ],
        """
        Example:
          kubectl -n kube-system port-forward svc/hubble-relay 4245:80 &
          flowwatch watch --hubble 127.0.0.1:4245 --kubeconfig ~/.kube/config --remediate dry-run
        """);

    public static async Task<int> RunAsync(string[] argv, CancellationToken ct)
    {
        var args = ParsedArgs.Parse(Spec, argv);
        if (args.HelpRequested) { Console.Out.Write(Spec.Help()); return 0; }
        var target = args.Get("hubble") ?? throw new UsageException("option '--hubble' is required (for example --hubble 127.0.0.1:4245).");
        try { HubbleStreamSource.ToUri(target); } catch (FormatException e) { throw new UsageException($"option '--hubble': {e.Message}"); }
        return await RunWatcherAsync(target, args.Get("listen")!, args.Duration("progress"), null, ct, KubernetesArgs(args));
    }

    private static KubernetesSettings KubernetesArgs(ParsedArgs args)
    {
        RemediationMode mode;
        try { mode = RemediationOptions.ParseMode(args.Get("remediate")!); }
        catch (FormatException e) { throw new UsageException($"option '--remediate': {e.Message}."); }
        var exclude = args.Has("remediate-exclude") ? args.GetAll("remediate-exclude") : ["kube-system"];
        return new KubernetesSettings
        {
            Kubeconfig = args.Get("kubeconfig"), Context = args.Get("context"),
            Remediation = new RemediationOptions { Mode = mode, ExcludedNamespaces = exclude, MaxPerInterval = args.Int("remediate-max", 1, 1000) },
        };
    }

    /// <summary>The watcher shared by watch and demo: runtime, HTTP endpoint, Hubble stream, progress.</summary>
    public static async Task<int> RunWatcherAsync(string target, string listen, TimeSpan progressEvery,
        IReadOnlyList<Kubernetes.ClusterEvent>? clusterView, CancellationToken ct, KubernetesSettings? kube = null)
    {
        await using var runtime = new FlowWatchRuntime(new RuntimeOptions { Listen = listen }, NullLoggerFactory.Instance);
        using var kubeLogs = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
        using var kubernetes = clusterView is null && kube is not null ? CreateKubernetes(kube, runtime, kubeLogs) : null;
        var source = new HubbleStreamSource(target, f => runtime.Intake.Write(kubernetes is null ? f : kubernetes.Enrich(f)), runtime.Pipeline.Metrics);
        runtime.Readiness.Add(() => source.State == "connected" ? null : $"hubble {target}: {source.State}");
        try { await runtime.StartHttpAsync(ct); }
        catch (Exception e) when (e is IOException or FormatException)
        {
            throw new UsageException($"option '--listen': cannot listen on {listen}: {e.Message}");
        }
        Console.WriteLine($"flowwatch: watching {target}; metrics on {runtime.HttpAddress}metrics, probes /healthz /readyz");
        if (clusterView is not null) foreach (var change in clusterView) runtime.Intake.Write(change);
        using var printer = new ProgressPrinter(runtime.Pipeline, runtime.Intake, () => $"hubble {source.State}", Console.Out)
        {
            LostEvents = () => source.LostEvents,
        };
        var pump = runtime.RunAsync(live: true, ct);
        var cluster = kubernetes?.RunAsync(ct) ?? Task.CompletedTask;
        var stream = source.RunAsync(ct);
        await printer.RunAsync(progressEvery, ct);
        await stream;
        await cluster;
        runtime.Intake.Complete();
        await pump;
        Console.WriteLine($"flowwatch: stopped after {runtime.Pipeline.Stats.Flows:N0} flows; {runtime.Pipeline.Book.OpenFindings.Count} findings open");
        return 0;
    }

    private static KubernetesIntegration? CreateKubernetes(KubernetesSettings kube, FlowWatchRuntime runtime, ILoggerFactory logs)
    {
        try
        {
            var k = KubernetesIntegration.TryCreate(kube, runtime, logs);
            Console.WriteLine(k is null
                ? "flowwatch: no --kubeconfig and not in a cluster: flows only, no cluster state"
                : $"flowwatch: cluster state from the Kubernetes API; remediation {kube.Remediation.Mode}");
            return k;
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidOperationException or k8s.Exceptions.KubeConfigException)
        {
            throw new UsageException($"option '--kubeconfig': {e.Message}");
        }
    }
}
