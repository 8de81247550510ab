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

    /// <summary>Fails fast when the settings cannot work; <see cref="ArgumentException.ParamName"/> is the flag to fix.</summary>
    public void Validate()
    {
        if (ProtectMetrics && !RequiresToken)
            throw new ArgumentException("needs a token to check: add --api-token-file FILE or --api-token-review", "--protect-metrics");
        if (TokenFile is not null) ValidateTokenFile(TokenFile);
        if ((TlsCertFile is null) != (TlsKeyFile is null))
            throw new ArgumentException("--listen-tls-cert and --listen-tls-key go together: give both PEM files, or neither for plain HTTP",
                TlsCertFile is null ? "--listen-tls-cert" : "--listen-tls-key");
        foreach (var (flag, file) in new[] { ("--listen-tls-cert", TlsCertFile), ("--listen-tls-key", TlsKeyFile) })
            if (file is not null && !File.Exists(file))
                throw new ArgumentException($"{file} does not exist", flag);
    }

    private static void ValidateTokenFile(string file)
    {
        const string flag = "--api-token-file";
        if (!File.Exists(file))
            throw new ArgumentException($"{file} does not exist; mount the Secret holding the token there, or drop the flag", flag);
        string text;
        try { text = File.ReadAllText(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"cannot read {file} ({e.GetType().Name}); mount the Secret there or drop the flag", flag);
        }
        if (text.Trim().Length == 0)
            throw new ArgumentException($"{file} is empty; put the token in it (e.g. kubectl create secret generic flowwatch-api --from-literal=token=...)", flag);
    }
}
