namespace FlowWatch.Security;

/// <summary>Decides whether a bearer token may read the API; returns the caller's name, or null to refuse.</summary>
public interface ITokenAuthenticator
{
    ValueTask<string?> AuthenticateAsync(string token, CancellationToken ct);
}
