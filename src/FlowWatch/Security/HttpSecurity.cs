using System.Security.Cryptography.X509Certificates;

namespace FlowWatch.Security;

/// <summary>The HTTP side's TLS certificate and token checks, built once from <see cref="ApiAccessOptions"/>.</summary>
public sealed class HttpSecurity
{
    public HttpSecurity(ApiAccessOptions options, Func<k8s.IKubernetes?>? kubernetes = null)
    {
        options.Validate();
        Options = options;
        var authenticators = new List<ITokenAuthenticator>();
        if (options.TokenFile is not null) authenticators.Add(new StaticTokenAuthenticator(options.TokenFile));
        if (options.TokenReview)
        {
            var client = kubernetes?.Invoke()
                ?? throw new ArgumentException("needs access to the Kubernetes API: run in-cluster, or give --kubeconfig", "--api-token-review");
            authenticators.Add(new TokenReviewAuthenticator(client));
        }
        Authenticators = authenticators;
        if (options.TlsCertFile is not null)
            Certificate = X509Certificate2.CreateFromPemFile(options.TlsCertFile, options.TlsKeyFile);
    }

    public ApiAccessOptions Options { get; }
    public IReadOnlyList<ITokenAuthenticator> Authenticators { get; }
    public X509Certificate2? Certificate { get; }

    public static HttpSecurity Open { get; } = new(ApiAccessOptions.Open);
}
