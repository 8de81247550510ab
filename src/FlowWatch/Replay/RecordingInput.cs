using System.IO.Compression;
using System.Text;

namespace FlowWatch.Replay;

/// <summary>Opens a recording for reading: a file, a FIFO, a pipe or stdin (<c>-</c>), plain or gzip, with or without a BOM.</summary>
/// <remarks>
/// Nothing here seeks, so pipes work. Gzip is told by its magic bytes and checked end to end (CRC and size in its
/// trailer, see <see cref="GzipCheckStream"/>): a cut or damaged file is reported as such instead of read as a short one.
/// A UTF-8 BOM is skipped; a UTF-16 one is transcoded to UTF-8. Inputs that can block forever (FIFOs, pipes, terminals)
/// are opened and read so that <paramref name="ct"/> ends the wait (SIGTERM while no writer is there).
/// </remarks>
public static class RecordingInput
{
    /// <summary>The file name that means standard input, as in <c>hubble observe --input-file -</c>.</summary>
    public const string StdinName = "-";

    /// <summary>Opens and decodes (gzip, BOM) a recording.</summary>
    public static Stream Open(string path, CancellationToken ct = default)
    {
        var raw = OpenRaw(path, ct);
        try { return Decode(raw, out _); }
        catch { raw.Dispose(); throw; }
    }

    /// <summary>Opens the bytes of a recording, undecoded: a file, a FIFO (waiting for its writer, cancellably) or stdin.</summary>
    public static Stream OpenRaw(string path, CancellationToken ct = default)
    {
        Stream raw;
        if (path == StdinName) raw = new CancellableReadStream(Console.OpenStandardInput(), ct);
        else
        {
            // open(2) of a FIFO blocks until a writer appears: wait for it where a signal can end the wait.
            var opening = Task.Run(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16), CancellationToken.None);
            try { opening.Wait(ct); }
            catch (AggregateException e) when (e.InnerException is not null) { throw e.InnerException; }
            var file = opening.Result;
            // A regular file never blocks on read; a FIFO, pipe or terminal can, for as long as its writer likes.
            raw = file.CanSeek ? file : new CancellableReadStream(file, ct);
        }
        return raw;
    }

    /// <summary>Undoes gzip (by its magic) and BOMs on a stream that cannot seek.</summary>
    public static Stream Decode(Stream raw, out bool gzip)
    {
        var head = ReadPrefix(raw, 2);
        Stream stream = new PrefixedStream(head, raw);
        gzip = head.Length == 2 && head[0] == 0x1f && head[1] == 0x8b;
        if (gzip)
        {
            var tail = new TailKeepingStream(stream);
            stream = new GzipCheckStream(new GZipStream(tail, CompressionMode.Decompress), tail);
        }
        var bom = ReadPrefix(stream, 4);
        if (bom.Length >= 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF) return new PrefixedStream(bom[3..], stream);
        if (bom.Length >= 2 && (bom[0], bom[1]) is (0xFF, 0xFE) or (0xFE, 0xFF))
        {
            // JSON starts with ASCII: in UTF-16 one of its first two bytes is 0. A UTF-16 BOM before UTF-8 text
            // (an editor's doing) is dropped and the text read as UTF-8.
            var littleEndian = bom[0] == 0xFF;
            var utf16 = bom.Length == 4 && (littleEndian ? bom[3] == 0 : bom[2] == 0);
            if (!utf16) return new PrefixedStream(bom[2..], stream);
            return Encoding.CreateTranscodingStream(new PrefixedStream(bom[2..], stream),
                littleEndian ? Encoding.Unicode : Encoding.BigEndianUnicode, Encoding.UTF8);
        }
        return new PrefixedStream(bom, stream);
    }

    private static byte[] ReadPrefix(Stream stream, int count)
    {
        var buffer = new byte[count];
        var got = 0;
        while (got < count)
        {
            var n = stream.Read(buffer, got, count - got);
            if (n == 0) break;
            got += n;
        }
        return got == count ? buffer : buffer[..got];
    }
}
