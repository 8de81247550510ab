namespace FlowWatch.Security;

/// <summary>Who may read the query API (it shows who talks to whom), and whether the HTTP side speaks TLS.</summary>
/// <remarks>/metrics, /healthz and /readyz stay open unless <see cref="ProtectMetrics"/> is set, so Prometheus and kubelet probes need no token.</remarks>
public sealed record ApiAccessOptions
{
    /// <summary>A file holding the bearer token clients must send (a mounted Secret); re-read when it changes.</summary>
    public string? TokenFile { get; init; }

    /// <summary>Accept Kubernetes service-account tokens, checked with the API server's TokenReview.</summary>
    public bool TokenReview { get; init; }

    /// <summary>PEM certificate and key for serving HTTPS; plain HTTP when unset.</summary>
    public string? TlsCertFile { get; init; }
    public string? TlsKeyFile { get; init; }

    /// <summary>Also require a token for /metrics.</summary>
    public bool ProtectMetrics { get; init; }

    public bool RequiresToken => TokenFile is not null || TokenReview;

    public static ApiAccessOptions Open { get; } = new();

    /// <summary>Fails fast, naming the flag, when the settings cannot work.</summary>
    public void Validate()
    {
        if (TokenFile is not null && !File.Exists(TokenFile))
            throw new ArgumentException($"--api-token-file: {TokenFile} does not exist (mount the Secret there, or drop the flag)");
        if ((TlsCertFile is null) != (TlsKeyFile is null))
            throw new ArgumentException("--listen-tls-cert and --listen-tls-key go together: give both PEM files, or neither for plain HTTP");
        foreach (var (flag, file) in new[] { ("--listen-tls-cert", TlsCertFile), ("--listen-tls-key", TlsKeyFile) })
            if (file is not null && !File.Exists(file))
                throw new ArgumentException($"{flag}: {file} does not exist");
    }
}
