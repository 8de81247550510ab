using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FlowWatch.Tests.Hubble;

/// <summary>A throw-away CA, a server certificate and a client certificate made in the test, with PEM files for the client side.</summary>
public sealed class TestCertificates : IDisposable
{
    public const string ServerName = "relay.flowwatch.test";

    private TestCertificates(string dir, X509Certificate2 ca, X509Certificate2 server, X509Certificate2 client, X509Certificate2 stranger)
    {
        Directory = dir;
        Ca = ca;
        Server = server;
        Client = client;
        Stranger = stranger;
    }

    public string Directory { get; }
    public X509Certificate2 Ca { get; }
    public X509Certificate2 Server { get; }
    public X509Certificate2 Client { get; }
    /// <summary>A client certificate signed by another CA, which the server must refuse.</summary>
    public X509Certificate2 Stranger { get; }

    public string CaFile => Path.Combine(Directory, "ca.crt");
    public string ClientCertFile => Path.Combine(Directory, "client.crt");
    public string ClientKeyFile => Path.Combine(Directory, "client.key");
    /// <summary>The server's certificate and key as PEM files, for servers that are not Kestrel (hubble-refserver).</summary>
    public string ServerCertFile => Path.Combine(Directory, "server.crt");
    public string ServerKeyFile => Path.Combine(Directory, "server.key");
    public string StrangerCertFile => Path.Combine(Directory, "stranger.crt");
    public string StrangerKeyFile => Path.Combine(Directory, "stranger.key");

    public static TestCertificates Create()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fw-certs-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(dir);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=FlowWatch test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddHours(1));

        var server = Issue(ca, "CN=" + ServerName, serverAuth: true, san =>
        {
            san.AddDnsName(ServerName);
            san.AddDnsName("*.hubble-relay.cilium.io");
        });
        var client = Issue(ca, "CN=flowwatch-client", serverAuth: false, null);

        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var otherRequest = new CertificateRequest("CN=Some other CA", otherKey, HashAlgorithmName.SHA256);
        otherRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var otherCa = otherRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddHours(1));
        var stranger = Issue(otherCa, "CN=stranger", serverAuth: false, null);

        File.WriteAllText(Path.Combine(dir, "ca.crt"), ca.ExportCertificatePem());
        WritePem(server, Path.Combine(dir, "server.crt"), Path.Combine(dir, "server.key"));
        WritePem(client, Path.Combine(dir, "client.crt"), Path.Combine(dir, "client.key"));
        WritePem(stranger, Path.Combine(dir, "stranger.crt"), Path.Combine(dir, "stranger.key"));
        return new TestCertificates(dir, ca, server, client, stranger);
    }

    private static X509Certificate2 Issue(X509Certificate2 issuer, string subject, bool serverAuth, Action<SubjectAlternativeNameBuilder>? names)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (names is not null)
        {
            var san = new SubjectAlternativeNameBuilder();
            names(san);
            request.CertificateExtensions.Add(san.Build());
        }
        var now = DateTimeOffset.UtcNow;
        using var signed = request.Create(issuer, now.AddMinutes(-5), now.AddMinutes(55), RandomNumberGenerator.GetBytes(8));
        using var withKey = signed.CopyWithPrivateKey(key);
        // A PKCS#12 round trip gives a key that Kestrel and SslStream can use on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    private static void WritePem(X509Certificate2 cert, string certPath, string keyPath)
    {
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, cert.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>True when <paramref name="cert"/> chains to <paramref name="ca"/> alone (how the test server checks clients).</summary>
    public static bool ChainsTo(X509Certificate2 cert, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(cert);
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
        Ca.Dispose();
        Server.Dispose();
        Client.Dispose();
        Stranger.Dispose();
    }
}
