using System.Buffers.Binary;
using System.IO.Hashing;

namespace FlowWatch.Replay;

/// <summary>Decompressed gzip that proves it is whole: at its end, the CRC-32 and size of what was read must match the trailer.</summary>
/// <remarks>
/// .NET's GZipStream ends quietly when its input ends on a deflate block boundary (a file cut while being written
/// with flushes), and checks no CRC. The last 8 compressed bytes are gzip's trailer (CRC-32, size mod 2^32); when
/// they do not describe what came out, the input was cut (size differs) or damaged (same size, other CRC).
/// Concatenated gzip members (<c>cat a.gz b.gz</c>) are checked only as a whole and so reported as damaged.
/// </remarks>
internal sealed class GzipCheckStream(Stream decompressed, TailKeepingStream compressed) : ReadOnlyWrapperStream(decompressed)
{
    private readonly Crc32 _crc = new();
    private long _bytes;
    private bool _checked;

    public long DecompressedBytes => _bytes;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n;
        try { n = Inner.Read(buffer); }
        catch (InvalidDataException e)
        {
            // zlib's data error (bad CRC or size in the trailer, damaged deflate data) reaches .NET as "unsupported compression method".
            throw new InvalidDataException($"corrupt gzip after {_bytes:N0} decompressed bytes: damaged data or a trailer (CRC-32, size) that does not match", e);
        }
        if (n > 0)
        {
            _crc.Append(buffer[..n]);
            _bytes += n;
            return n;
        }
        if (!_checked)
        {
            _checked = true;
            Check();
        }
        return 0;
    }

    private void Check()
    {
        var tail = compressed.Tail;
        if (tail.Length < 8) throw new InvalidDataException($"truncated gzip: the input ends after {compressed.Total} bytes, before its trailer");
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(tail[..4]);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]);
        if (size != (uint)_bytes)
            throw new InvalidDataException($"truncated gzip: the stream ends after {_bytes:N0} decompressed bytes without its trailer (cut while being written?)");
        if (crc != _crc.GetCurrentHashAsUInt32())
            throw new InvalidDataException($"corrupt gzip: CRC-32 of the {_bytes:N0} decompressed bytes does not match the trailer");
    }

}

/// <summary>Passes a stream through and remembers its last 8 bytes (gzip's trailer) and how many bytes went by.</summary>
internal sealed class TailKeepingStream(Stream inner) : ReadOnlyWrapperStream(inner)
{
    private readonly byte[] _tail = new byte[8];
    private int _kept;

    public long Total { get; private set; }

    public ReadOnlySpan<byte> Tail => _tail.AsSpan(0, _kept);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = Inner.Read(buffer);
        if (n <= 0) return n;
        Total += n;
        var got = buffer[..n];
        if (n >= 8)
        {
            got[^8..].CopyTo(_tail);
            _kept = 8;
        }
        else
        {
            var keep = Math.Min(8 - n, _kept);
            _tail.AsSpan(_kept - keep, keep).CopyTo(_tail);
            got.CopyTo(_tail.AsSpan(keep));
            _kept = keep + n;
        }
        return n;
    }

}
