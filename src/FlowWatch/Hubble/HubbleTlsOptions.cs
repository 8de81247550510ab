namespace FlowWatch.Hubble;

/// <summary>TLS settings for an <c>https://</c> target, as the hubble CLI takes them (<c>--tls-ca-cert-files</c>, <c>--tls-client-cert-file</c>, ...).</summary>
/// <remarks>Only file paths are kept here, never key material, so this record is safe to log.</remarks>
public sealed record HubbleTlsOptions
{
    /// <summary>PEM bundle of the CAs that may sign the server's certificate; null trusts the system's CAs.</summary>
    public string? CaFile { get; init; }

    /// <summary>PEM client certificate for mutual TLS (needs <see cref="KeyFile"/>).</summary>
    public string? CertFile { get; init; }

    /// <summary>PEM private key of <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; init; }

    /// <summary>Name the server's certificate must carry instead of the target's host (hubble's <c>--tls-server-name</c>).</summary>
    public string? ServerName { get; init; }

    public bool IsEmpty => CaFile is null && CertFile is null && KeyFile is null && ServerName is null;

    /// <summary>Throws <see cref="ArgumentException"/> whose ParamName is the setting at fault and whose message says the fix.</summary>
    public void Validate()
    {
        if (CertFile is not null && KeyFile is null)
            throw new ArgumentException("a client certificate needs its private key as well: add the key file", nameof(KeyFile));
        if (KeyFile is not null && CertFile is null)
            throw new ArgumentException("a private key needs its client certificate as well: add the certificate file", nameof(CertFile));
        MustExist(CaFile, nameof(CaFile));
        MustExist(CertFile, nameof(CertFile));
        MustExist(KeyFile, nameof(KeyFile));
        if (ServerName is { Length: 0 }) throw new ArgumentException("the server name is empty", nameof(ServerName));
    }

    private static void MustExist(string? path, string name)
    {
        if (path is not null && !File.Exists(path))
            throw new ArgumentException($"file '{path}' does not exist or is not readable: check the path", name);
    }
}
