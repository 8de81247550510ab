using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlowWatch.Api;

namespace FlowWatch.Cli.Commands;

/// <summary>A query the server could not answer: one line for the terminal, no stack trace.</summary>
/// <param name="status">The HTTP status when the server answered with an error (404: it does not know the object); null when it did not answer.</param>
public sealed class QueryFailedException(string message, int? status = null) : Exception(message)
{
    public int? Status { get; } = status;
}

/// <summary>Talks to a running FlowWatch's query API; turns every failure into a <see cref="QueryFailedException"/> with one clear line.</summary>
public sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _server;

    /// <summary>The server's address as this client reaches it (http:// added when none was given).</summary>
    public Uri Server => _server;
    private readonly bool _sendsToken;
    private volatile bool _certificateRejected;
    private System.Net.Security.SslPolicyErrors _certificateErrors;

    /// <param name="token">Bearer token to send (never printed); null sends none.</param>
    /// <param name="caFile">PEM bundle of a private CA that signs the server's certificate (https only); null uses the system's CAs.</param>
    public ApiClient(string server, string? token = null, string? caFile = null)
    {
        var text = server.Contains("://", StringComparison.Ordinal) ? server : "http://" + server;
        if (!Uri.TryCreate(text.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new CommandLine.UsageException($"option '--server': '{server}' is not an address such as http://127.0.0.1:9090");
        _server = uri;
        var handler = new SocketsHttpHandler();
        var trusts = caFile is not null ? ServerCertificates.TrustedBy(caFile) : null;
        // Seeing the certificate tells "not trusted" apart from "no TLS at all", which fail with the same exception.
        handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
        {
            _certificateErrors = errors;
            var ok = trusts?.Invoke(sender, certificate, chain, errors) ?? errors == System.Net.Security.SslPolicyErrors.None;
            _certificateRejected = !ok;
            return ok;
        };
        _http = new HttpClient(handler) { BaseAddress = uri, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            _sendsToken = true;
        }
    }

    public async Task<(T Value, string Raw)> GetAsync<T>(string pathAndQuery, CancellationToken ct)
    {
        var (raw, _) = await GetTextAsync(pathAndQuery, ct);
        try { return (JsonSerializer.Deserialize<T>(raw, ApiJson.Options)!, raw); }
        catch (JsonException e) { throw new QueryFailedException($"{_server} answered with JSON this CLI does not understand: {e.Message}"); }
    }

    /// <summary>The answer's body as text, with its headers (for answers that are not one JSON object, such as Hubble's lines).</summary>
    public async Task<(string Body, System.Net.Http.Headers.HttpResponseHeaders Headers)> GetTextAsync(string pathAndQuery, CancellationToken ct)
    {
        HttpResponseMessage response;
        try { response = await _http.GetAsync(pathAndQuery, ct); }
        catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.SecureConnectionError || e.InnerException is System.Security.Authentication.AuthenticationException)
        {
            throw new QueryFailedException(TlsFailure());
        }
        catch (HttpRequestException e)
        {
            throw new QueryFailedException(Unreachable(e));
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new QueryFailedException($"FlowWatch at {_server} did not answer within {_http.Timeout.TotalSeconds:F0} s");
        }
        using (response)
        {
            var raw = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                var message = TryError(raw) ?? (response.StatusCode == HttpStatusCode.NotFound
                    ? $"{_server} has no query API at {pathAndQuery} (is it FlowWatch?)"
                    : raw.Trim());
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                    message += _sendsToken
                        ? " (check the token in --token-file or FLOWWATCH_TOKEN)"
                        : "; pass --token-file FILE or set FLOWWATCH_TOKEN";
                throw new QueryFailedException($"{(int)response.StatusCode} {response.ReasonPhrase}: {message}", (int)response.StatusCode);
            }
            return (raw, response.Headers);
        }
    }

    private string TlsFailure()
    {
        var address = $"{_server.Host}:{_server.Port}";
        if (!_certificateRejected)
            return $"{address} does not speak TLS (the handshake got no certificate back); if it serves plain HTTP, use --server http://{address}";
        if ((_certificateErrors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            return $"the TLS certificate of {address} is not for '{_server.Host}'; use the name it was issued for in --server";
        return $"the TLS certificate of {address} is not trusted (its chain does not lead to a CA this CLI trusts); pass --ca-file with the CA that signed it";
    }

    private string Unreachable(HttpRequestException e)
    {
        var address = $"{_server.Host}:{_server.Port}";
        const string Hint = "is 'flowwatch demo' or 'flowwatch watch' running? Use --server to point elsewhere.";
        if (e.InnerException is System.Net.Sockets.SocketException s)
            return s.SocketErrorCode switch
            {
                System.Net.Sockets.SocketError.ConnectionRefused => $"cannot reach FlowWatch: connection refused at {address}; {Hint}",
                System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.TryAgain or System.Net.Sockets.SocketError.NoData
                    => $"cannot reach FlowWatch: no such host '{_server.Host}'; check --server",
                _ => $"cannot reach FlowWatch at {address} ({s.Message}); {Hint}",
            };
        if (e.HttpRequestError is HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse && _server.Scheme == "http")
            return $"{address} ended the connection without an HTTP answer; if it serves HTTPS, use --server https://{address}";
        return $"cannot reach FlowWatch at {address} ({e.Message}); {Hint}";
    }

    private static string? TryError(string raw)
    {
        try { return JsonSerializer.Deserialize<ApiError>(raw, ApiJson.Options)?.Error; }
        catch (JsonException) { return null; }
    }

    public void Dispose() => _http.Dispose();
}
