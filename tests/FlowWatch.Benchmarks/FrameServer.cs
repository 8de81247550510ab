using System.Buffers.Binary;
using System.Net;
using System.Text;
using FlowWatch.Hubble.Proto.Observer;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Benchmarks;

/// <summary>
/// A GetFlows server that does next to nothing per flow: its answer is gRPC frames serialized before the run, copied
/// to Kestrel in large writes, so a client on the same machine meets its own ceiling, not the server's.
/// </summary>
/// <remarks>
/// The stream is frame i = message i mod n in pass i / n. A pass moves every message on by a whole number of seconds
/// and gives it a fresh id (its first 8 hex digits are the pass), so FlowWatch's de-duplication passes every flow and
/// event time moves forward, as in a live stream. Both changes keep each field's length (the seconds of a 2026 time are a
/// 5-byte varint; the uuid stays 36 characters), so a pass is made by patching the cached frames in place, between
/// writes: nothing is serialized while the clock runs. The first <c>warmup</c> frames go as soon as a call arrives
/// (JIT, tiering, interning tables); the rest wait for <see cref="Go"/>. Later calls (a client reconnecting) get
/// headers and nothing more, so no flow is ever sent twice.
/// </remarks>
public sealed class FrameServer : IAsyncDisposable
{
    private const int ChunkBytes = 256 * 1024;
    private readonly byte[] _frames;
    private readonly int[] _starts;          // frame k's offset in _frames; _starts[n] is the end
    private readonly int[][] _secondsAt;     // offsets of each frame's seconds varints (response time, flow time)
    private readonly long[] _seconds;        // each frame's seconds in pass 0
    private readonly int[] _uuidAt;          // offset of each frame's uuid text, -1 without one
    private readonly byte[][] _uuidPrefix;   // its first 8 characters in pass 0
    private readonly long _secondsPerPass;
    private readonly long _warmup, _total;
    private readonly TaskCompletionSource _go = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;
    private int _calls;
    private long _pass;

    /// <param name="messages">Each with a flow whose time and uuid the passes change.</param>
    public FrameServer(IReadOnlyList<GetFlowsResponse> messages, long secondsPerPass, long warmup, long timed)
    {
        _secondsPerPass = Math.Max(1, secondsPerPass);
        _warmup = warmup;
        _total = warmup + timed;
        var n = messages.Count;
        _starts = new int[n + 1];
        _secondsAt = new int[n][];
        _seconds = new long[n];
        _uuidAt = new int[n];
        _uuidPrefix = new byte[n][];
        using var all = new MemoryStream();
        for (var k = 0; k < n; k++)
        {
            var m = messages[k].Clone();
            m.Time = m.Flow.Time.Clone();
            var bytes = m.ToByteArray();
            _starts[k] = (int)all.Length;
            Span<byte> prefix = stackalloc byte[5];
            prefix[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(prefix[1..], (uint)bytes.Length);
            all.Write(prefix);
            all.Write(bytes);
            _seconds[k] = m.Flow.Time.Seconds;
            _secondsAt[k] = Find(bytes, SecondsField(m.Flow.Time.Seconds), _starts[k] + 5);
            var uuid = m.Flow.Uuid.Length == 36 ? Find(bytes, Encoding.ASCII.GetBytes(m.Flow.Uuid), _starts[k] + 5) : [];
            _uuidAt[k] = uuid.Length == 1 ? uuid[0] : -1;
            _uuidPrefix[k] = _uuidAt[k] >= 0 ? Encoding.ASCII.GetBytes(m.Flow.Uuid[..8]) : [];
            if (_secondsAt[k].Length != 2) throw new InvalidOperationException($"message {k}: its time is not where a pass can move it");
        }
        _starts[n] = (int)all.Length;
        _frames = all.ToArray();
        for (var k = 0; k < n; k++) _secondsAt[k] = _secondsAt[k].Select(at => at + 1).ToArray();   // past the 0x08 tag
    }

    public int Port { get; private set; }
    public long Total => _total;
    public long Warmup => _warmup;
    public int Messages => _starts.Length - 1;
    public double AverageFrameBytes => _frames.Length / (double)Messages;

    /// <summary>Sends the timed frames on the first call.</summary>
    public void Go() => _go.TrySetResult();

    /// <summary>Frame <paramref name="index"/> of the stream, parsed: what the client should receive (a check of the patching).</summary>
    public GetFlowsResponse Frame(long index)
    {
        var k = (int)(index % Messages);
        Patch(index / Messages);
        return GetFlowsResponse.Parser.ParseFrom(_frames.AsSpan(_starts[k] + 5, _starts[k + 1] - _starts[k] - 5));
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2);
        });
        var app = builder.Build();
        app.MapPost("/observer.Observer/GetFlows", ServeAsync);
        await app.StartAsync().ConfigureAwait(false);
        _app = app;
        Port = new Uri(app.Urls.First()).Port;
    }

    private async Task ServeAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        context.Response.ContentType = "application/grpc";
        await context.Response.StartAsync(ct).ConfigureAwait(false);
        try
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                await WriteAsync(context.Response.Body, 0, _warmup, ct).ConfigureAwait(false);
                await _go.Task.WaitAsync(ct).ConfigureAwait(false);
                await WriteAsync(context.Response.Body, _warmup, _total, ct).ConfigureAwait(false);
            }
            // A follow stream stays open: the client, not the server, ends the run.
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
    }

    private async Task WriteAsync(Stream body, long from, long to, CancellationToken ct)
    {
        var n = Messages;
        while (from < to)
        {
            var pass = from / n;
            Patch(pass);
            var first = (int)(from % n);
            var last = (int)Math.Min(n, first + (to - from));   // exclusive
            // Kestrel copies what it is given before the write completes, so the buffer may be patched again after it.
            for (var k = first; k < last;)
            {
                var end = k;
                while (end < last && _starts[end + 1] - _starts[k] <= ChunkBytes) end++;
                if (end == k) end = k + 1;
                await body.WriteAsync(_frames.AsMemory(_starts[k], _starts[end] - _starts[k]), ct).ConfigureAwait(false);
                k = end;
            }
            from += last - first;
        }
        await body.FlushAsync(ct).ConfigureAwait(false);
    }

    private void Patch(long pass)
    {
        if (pass == _pass) return;
        _pass = pass;
        Span<byte> hex = stackalloc byte[8];
        Encoding.ASCII.GetBytes(pass.ToString("x8"), hex);
        for (var k = 0; k < Messages; k++)
        {
            var seconds = _seconds[k] + pass * _secondsPerPass;
            foreach (var at in _secondsAt[k]) WriteVarint5(_frames.AsSpan(at, 5), (ulong)seconds);
            if (_uuidAt[k] >= 0) (pass == 0 ? _uuidPrefix[k] : hex).CopyTo(_frames.AsSpan(_uuidAt[k], 8));
        }
    }

    // Field 1 (seconds) of a Timestamp: tag 0x08, then the value as a 5-byte varint.
    private static byte[] SecondsField(long seconds)
    {
        if (seconds < 1L << 28 || seconds >= 1L << 35) throw new InvalidOperationException($"seconds {seconds} are not a 5-byte varint");
        var field = new byte[6];
        field[0] = 0x08;
        WriteVarint5(field.AsSpan(1), (ulong)seconds);
        return field;
    }

    private static void WriteVarint5(Span<byte> to, ulong value)
    {
        if (value < 1UL << 28 || value >= 1UL << 35) throw new InvalidOperationException($"seconds {value} left the 5-byte varint range");
        for (var i = 0; i < 4; i++) { to[i] = (byte)(value | 0x80); value >>= 7; }
        to[4] = (byte)value;
    }

    private static int[] Find(byte[] haystack, byte[] needle, int offset)
    {
        var found = new List<int>();
        for (var at = 0; ;)
        {
            var i = haystack.AsSpan(at).IndexOf(needle);
            if (i < 0) return found.Select(f => f + offset).ToArray();
            found.Add(at + i);
            at += i + 1;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _go.TrySetResult();
        if (_app is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(stop.Token).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
