using FlowWatch.Cli.CommandLine;
using FlowWatch.Security;
using FlowWatch.Kubernetes;
using k8s;

namespace FlowWatch.Cli.Commands;

/// <summary>What watch and demo share beyond the Hubble client: who may use the HTTP API, and the checkpoint.</summary>
public static class RuntimeFlags
{
    public static readonly OptionSpec[] Options =
    [
        new("api-token-file", "Require 'Authorization: Bearer TOKEN' for /api, TOKEN being this file's content (a mounted Secret; re-read when it changes).", "FILE"),
        new("api-token-review", "Also accept Kubernetes service-account tokens, checked with the API server's TokenReview (in-cluster or kubeconfig)."),
        new("listen-tls-cert", "Serve HTTPS with this PEM certificate (with --listen-tls-key).", "FILE"),
        new("listen-tls-key", "PEM private key of --listen-tls-cert.", "FILE"),
        new("protect-metrics", "Require the token for /metrics too (the probes stay open)."),
        new("checkpoint", "Resume from this file at start and write it (resume point, open findings) periodically and on shutdown; an emptyDir or volume path.", "PATH"),
        new("checkpoint-every", "How often --checkpoint is written.", "DURATION", "10s"),
        .. EventTimeFlags.Options,
        .. Logging.CliLogging.Options,
    ];

    /// <summary>The HTTP security of the command line, checked now; null when the API is left open on plain HTTP.</summary>
    public static HttpSecurity? Security(ParsedArgs args)
    {
        var options = new ApiAccessOptions
        {
            TokenFile = args.Get("api-token-file"),
            TokenReview = args.Flag("api-token-review"),
            TlsCertFile = args.Get("listen-tls-cert"),
            TlsKeyFile = args.Get("listen-tls-key"),
            ProtectMetrics = args.Flag("protect-metrics"),
        };
        if (options == ApiAccessOptions.Open) return null;
        try
        {
            return new HttpSecurity(options, options.TokenReview ? () => KubernetesClient(args) : null);
        }
        catch (ArgumentException e)
        {
            // ArgumentException appends " (Parameter 'X')"; the flag leads the line already.
            var text = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
            throw new UsageException($"option '{e.ParamName ?? "--api-token-file"}': {text}.");
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException)
        {
            // The certificate's text is never echoed: only which flag and why.
            throw new UsageException($"option '--listen-tls-cert'/'--listen-tls-key': cannot load the PEM pair ({e.GetType().Name}: {e.Message.Split('\n')[0]}); give a certificate and its own private key.");
        }
    }

    // The same client the cluster watchers use: --kubeconfig/--context where the command has them, else in-cluster.
    private static IKubernetes? KubernetesClient(ParsedArgs args)
    {
        try
        {
            return KubeClientFactory.Configure(args.Get("kubeconfig"), args.Get("context")) is { } config ? new k8s.Kubernetes(config) : null;
        }
        catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or IOException)
        {
            throw new ArgumentException($"needs the Kubernetes API: run in-cluster or give a readable kubeconfig ({e.Message})", "--api-token-review");
        }
    }

    /// <summary>The checkpoint path and period, checked now (the directory must be writable).</summary>
    public static (string? Path, TimeSpan Every) Checkpoint(ParsedArgs args)
    {
        var every = args.Duration("checkpoint-every");
        if (every < TimeSpan.FromMilliseconds(100))
            throw new UsageException($"option '--checkpoint-every' must be at least 100ms (got '{args.Get("checkpoint-every")}').");
        var path = args.Get("checkpoint");
        if (path is null) return (null, every);
        if (path.Length == 0 || Directory.Exists(path) || path.EndsWith('/'))
            throw new UsageException($"option '--checkpoint': '{path}' is a directory or empty; give a file path such as /var/lib/flowwatch/checkpoint.json.");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        try
        {
            Directory.CreateDirectory(dir);
            var probe = Path.Combine(dir, $".flowwatch-probe-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"option '--checkpoint': cannot write in {dir} ({e.Message}); mount a writable volume (emptyDir) there or choose another path.");
        }
        return (path, every);
    }
}
