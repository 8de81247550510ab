using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlowWatch.Api;

namespace FlowWatch.Cli.Commands;

/// <summary>A query the server could not answer: one line for the terminal, no stack trace.</summary>
public sealed class QueryFailedException(string message) : Exception(message);

/// <summary>Talks to a running FlowWatch's query API; turns every failure into a <see cref="QueryFailedException"/> with one clear line.</summary>
public sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _server;
    private readonly bool _sendsToken;

    /// <param name="token">Bearer token to send (never printed); null sends none.</param>
    /// <param name="caFile">PEM bundle of a private CA that signs the server's certificate (https only); null uses the system's CAs.</param>
    public ApiClient(string server, string? token = null, string? caFile = null)
    {
        var text = server.Contains("://", StringComparison.Ordinal) ? server : "http://" + server;
        if (!Uri.TryCreate(text.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new CommandLine.UsageException($"option '--server': '{server}' is not an address such as http://127.0.0.1:9090");
        _server = uri;
        var handler = new SocketsHttpHandler();
        if (caFile is not null) handler.SslOptions.RemoteCertificateValidationCallback = ServerCertificates.TrustedBy(caFile);
        _http = new HttpClient(handler) { BaseAddress = uri, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            _sendsToken = true;
        }
    }

    public async Task<(T Value, string Raw)> GetAsync<T>(string pathAndQuery, CancellationToken ct)
    {
        HttpResponseMessage response;
        try { response = await _http.GetAsync(pathAndQuery, ct); }
        catch (HttpRequestException e) when (e.InnerException is System.Security.Authentication.AuthenticationException tls)
        {
            throw new QueryFailedException($"cannot verify FlowWatch's TLS certificate at {_server} ({tls.Message}); pass --ca-file with the CA that signed it.");
        }
        catch (HttpRequestException e)
        {
            throw new QueryFailedException($"cannot reach FlowWatch at {_server} ({Reason(e)}); is 'flowwatch demo' or 'flowwatch watch' running? Use --server to point elsewhere.");
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
                throw new QueryFailedException($"{(int)response.StatusCode} {response.ReasonPhrase}: {message}");
            }
            try { return (JsonSerializer.Deserialize<T>(raw, ApiJson.Options)!, raw); }
            catch (JsonException e) { throw new QueryFailedException($"{_server} answered with JSON this CLI does not understand: {e.Message}"); }
        }
    }

    private static string Reason(HttpRequestException e) =>
        e.InnerException is System.Net.Sockets.SocketException s ? s.Message : e.Message;

    private static string? TryError(string raw)
    {
        try { return JsonSerializer.Deserialize<ApiError>(raw, ApiJson.Options)?.Error; }
        catch (JsonException) { return null; }
    }

    public void Dispose() => _http.Dispose();
}
