using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace FlowWatch.Hubble;

/// <summary>Builds the one <see cref="GrpcChannel"/> per target: h2c, TLS or mutual TLS over TCP, or a unix socket; HTTP/2 keepalive pings on.</summary>
public static class HubbleChannelFactory
{
    public static GrpcChannel Create(HubbleTarget target, HubbleClientOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.ConnectTimeout,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            EnableMultipleHttp2Connections = true,
        };
        if (target.Transport == HubbleTransport.UnixSocket)
        {
            var path = target.SocketPath!;
            handler.ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
        if (target.Transport == HubbleTransport.Tls) handler.SslOptions = TlsClientOptions(target, options.Tls);
        return GrpcChannel.ForAddress(target.Address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 4 << 20,
            DisposeHttpClient = true,
        });
    }

    /// <summary>Loads the CA bundle and client key pair once, so that an unreadable or mismatched file fails at start, naming the setting.</summary>
    /// <exception cref="ArgumentException">ParamName is the <see cref="HubbleTlsOptions"/> property at fault; the message never holds key material.</exception>
    public static void CheckTlsFiles(HubbleTlsOptions tls)
    {
        if (tls.CaFile is not null)
        {
            try { LoadBundle(tls.CaFile); }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                throw new ArgumentException($"'{tls.CaFile}' is not a PEM certificate bundle ({e.Message})", nameof(HubbleTlsOptions.CaFile));
            }
        }
        if (tls.CertFile is not null)
        {
            try { X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile).Dispose(); }
            // A key of another certificate is an ArgumentException ("the provided key does not match"), bad PEM a CryptographicException.
            catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                throw new ArgumentException(
                    $"cannot use '{tls.CertFile}' with key '{tls.KeyFile}': both must be PEM and the key must belong to the certificate ({e.Message})",
                    nameof(HubbleTlsOptions.KeyFile));
            }
        }
    }

    private static SslClientAuthenticationOptions TlsClientOptions(HubbleTarget target, HubbleTlsOptions tls)
    {
        var expectedName = tls.ServerName ?? target.Address.IdnHost;
        var roots = tls.CaFile is null ? null : LoadBundle(tls.CaFile);
        var ssl = new SslClientAuthenticationOptions
        {
            // A wildcard is no valid SNI name; hubble's default "*.default.hubble-grpc.cilium.io" is only checked, not sent.
            TargetHost = expectedName.Contains('*') ? target.Address.IdnHost : expectedName,
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                certificate is X509Certificate2 server && Trusted(server, chain, errors, roots) && NameMatches(server, expectedName),
        };
        if (tls.CertFile is not null)
            ssl.ClientCertificates = [X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile)];
        return ssl;
    }

    private static X509Certificate2Collection LoadBundle(string path)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPemFile(path);
        if (bundle.Count == 0) throw new ArgumentException($"CA file '{path}' holds no PEM certificate", nameof(HubbleTlsOptions.CaFile));
        return bundle;
    }

    private static bool Trusted(X509Certificate2 server, X509Chain? systemChain, SslPolicyErrors errors, X509Certificate2Collection? roots)
    {
        if ((errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0) return false;
        if (roots is null) return (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (systemChain is not null)
            foreach (var element in systemChain.ChainElements) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        return chain.Build(server);
    }

    // Checked here rather than by SslStream so that a wildcard server name (hubble's convention) can match a
    // certificate carrying exactly that wildcard name.
    private static bool NameMatches(X509Certificate2 server, string expected)
    {
        foreach (var ext in server.Extensions)
            if (ext is X509SubjectAlternativeNameExtension san)
                foreach (var dns in san.EnumerateDnsNames())
                    if (string.Equals(dns, expected, StringComparison.OrdinalIgnoreCase)) return true;
        return !expected.Contains('*') && server.MatchesHostname(expected, allowWildcards: true, allowCommonName: false);
    }
}
