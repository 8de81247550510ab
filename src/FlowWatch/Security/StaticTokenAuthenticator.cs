using System.Security.Cryptography;
using System.Text;

namespace FlowWatch.Security;

/// <summary>Accepts the one token in a file (a mounted Secret), re-reading it when the file changes so rotation needs no restart.</summary>
public sealed class StaticTokenAuthenticator(string path) : ITokenAuthenticator
{
    private readonly object _gate = new();
    private DateTime _stamp;
    private byte[] _token = [];

    public ValueTask<string?> AuthenticateAsync(string token, CancellationToken ct)
    {
        var expected = Current();
        var given = Encoding.UTF8.GetBytes(token);
        // Fixed-time compare: the answer's timing must not reveal how much of the token matched.
        var ok = expected.Length > 0 && CryptographicOperations.FixedTimeEquals(given, expected);
        return ValueTask.FromResult(ok ? "token-file" : null);
    }

    private byte[] Current()
    {
        lock (_gate)
        {
            DateTime stamp;
            try { stamp = File.GetLastWriteTimeUtc(path); } catch (IOException) { return _token; }
            if (stamp == _stamp) return _token;
            try
            {
                _token = Encoding.UTF8.GetBytes(File.ReadAllText(path).Trim());
                _stamp = stamp;
            }
            catch (IOException) { } // A Secret being swapped: keep the old token for this request.
            return _token;
        }
    }
}
