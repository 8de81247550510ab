using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace FlowWatch.Cli.Commands;

/// <summary>Checks a FlowWatch server's certificate against a private CA instead of the system's.</summary>
public static class ServerCertificates
{
    public static RemoteCertificateValidationCallback TrustedBy(string caFile)
    {
        var roots = new X509Certificate2Collection();
        try { roots.ImportFromPemFile(caFile); }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new CommandLine.UsageException($"option '--ca-file': {caFile} holds no PEM certificate ({e.Message}).");
        }
        if (roots.Count == 0) throw new CommandLine.UsageException($"option '--ca-file': {caFile} holds no PEM certificate.");
        return (_, certificate, _, errors) =>
        {
            if (certificate is null) return false;
            // Name mismatches are still refused; only the chain is judged against the given CA.
            if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(new X509Certificate2(certificate));
        };
    }
}
