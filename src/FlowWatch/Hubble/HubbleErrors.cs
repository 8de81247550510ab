using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;

namespace FlowWatch.Hubble;

/// <summary>Turns a failed Hubble call into one line that says what is wrong ("connection refused at ADDR", "does not speak TLS").</summary>
/// <remarks>grpc-dotnet reports most transport failures as <c>Unavailable</c> with a generic detail ("Error connecting to
/// subchannel."); the cause is in the exception chain of <see cref="Status.DebugException"/>.</remarks>
public static class HubbleErrors
{
    public static string Describe(RpcException e, HubbleTarget target)
    {
        var address = target.SocketPath ?? target.Address.Authority;
        for (var inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case SocketException s when s.SocketErrorCode == SocketError.ConnectionRefused:
                    return $"connection refused at {address}";
                case SocketException s when s.SocketErrorCode is SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData:
                    return $"no such host '{target.Address.Host}'";
                case SocketException s when s.SocketErrorCode == SocketError.TimedOut:
                    return $"connecting to {address} timed out";
                case SocketException s when target.Transport == HubbleTransport.UnixSocket && s.SocketErrorCode == SocketError.AddressNotAvailable:
                    return $"no socket at {address} (is the Cilium agent running with Hubble enabled?)";
                case SocketException s:
                    return $"cannot connect to {address}: {s.Message}";
                case AuthenticationException a when a.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase):
                    return $"the TLS certificate of {address} is not trusted or not for the expected name (check --tls-ca and --tls-server-name)";
                case AuthenticationException or IOException when target.Transport == HubbleTransport.Tls && IsHandshake(e):
                    return $"{address} does not speak TLS (the handshake got no certificate back); for plaintext h2c give --hubble {address}";
            }
        }
        if (target.Transport == HubbleTransport.Plaintext && e.StatusCode == StatusCode.Unavailable && e.Status.Detail.Contains("HTTP/2", StringComparison.Ordinal))
            return $"{address} did not answer as plaintext HTTP/2 ({e.Status.Detail}); if it serves TLS, give --hubble https://{address}";
        return $"{e.StatusCode}: {e.Status.Detail}";
    }

    private static bool IsHandshake(RpcException e)
    {
        for (var inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
            if (inner is HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError } || inner is AuthenticationException) return true;
        return false;
    }
}
