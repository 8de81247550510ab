using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;

namespace FlowWatch.Security;

/// <summary>Accepts Kubernetes service-account tokens the API server vouches for (TokenReview), caching answers briefly.</summary>
/// <remarks>
/// The cache is keyed by a hash of the token, never the token, and is bounded: when full it is cleared,
/// which costs a few extra reviews and never lets a token in that the API server refused.
/// </remarks>
public sealed class TokenReviewAuthenticator(IKubernetes client, TimeSpan? cacheFor = null, int maxCached = 1024) : ITokenAuthenticator
{
    private readonly ConcurrentDictionary<string, (string? User, DateTimeOffset Until)> _cache = new();
    private readonly TimeSpan _ttl = cacheFor ?? TimeSpan.FromSeconds(60);

    public async ValueTask<string?> AuthenticateAsync(string token, CancellationToken ct)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        var now = DateTimeOffset.UtcNow;
        if (_cache.TryGetValue(key, out var hit) && hit.Until > now) return hit.User;
        string? user = null;
        try
        {
            var review = await client.AuthenticationV1.CreateTokenReviewAsync(
                new V1TokenReview { Spec = new V1TokenReviewSpec { Token = token } }, cancellationToken: ct).ConfigureAwait(false);
            if (review.Status?.Authenticated == true) user = review.Status.User?.Username ?? "service-account";
        }
        catch (Exception e) when (e is HttpRequestException or k8s.Autorest.HttpOperationException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return null; // API server unreachable: refuse, and do not cache the refusal.
        }
        if (_cache.Count >= maxCached) _cache.Clear();
        _cache[key] = (user, now + _ttl);
        return user;
    }
}
