namespace FlowWatch.Replay;

/// <summary>What <see cref="LineFramer.Next"/> found: a line, a line over the limit (skipped, never held), the end, or a read error.</summary>
public enum FrameKind : byte { Line, TooLong, End, Error }

/// <summary>One framed line: for <see cref="FrameKind.Line"/> its bytes (valid until the next call), else its length or the error.</summary>
public readonly ref struct Frame(FrameKind kind, long lineNumber, ReadOnlySpan<byte> bytes, long length, string? error, bool runaway = false)
{
    /// <summary>The error is a line that never ended (not a read error).</summary>
    public bool Runaway { get; } = runaway;
    public FrameKind Kind { get; } = kind;
    public long LineNumber { get; } = lineNumber;
    public ReadOnlySpan<byte> Bytes { get; } = bytes;
    /// <summary>Bytes of the line; for <see cref="FrameKind.TooLong"/>, as far as it was read (all of it unless it stopped the input).</summary>
    public long Length { get; } = length;
    public string? Error { get; } = error;
}

/// <summary>Cuts a byte stream into lines of at most <c>maxLineBytes</c>, holding at most that much of any line.</summary>
/// <remarks>
/// A longer line is skipped to its newline and reported once with its length, so a 200 MB line costs a buffer, not
/// 200 MB. A line that runs past <c>runawayBytes</c> without a newline ends the input (a gzip bomb of zeros is one
/// endless line): it is reported as an error and nothing after it is read.
/// </remarks>
public sealed class LineFramer(Stream stream, int maxLineBytes, long runawayBytes)
{
    private byte[] _buffer = new byte[Math.Min(64 * 1024, maxLineBytes + 1)];
    private int _start, _end;
    private bool _eof;
    private long _lineNumber;

    /// <summary>Line number of the line being read (for errors of the stream itself).</summary>
    public long LineNumber => _lineNumber;

    public Frame Next()
    {
        var scanFrom = _start;
        while (true)
        {
            var newline = _buffer.AsSpan(scanFrom, _end - scanFrom).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var stop = scanFrom + newline;
                var line = _buffer.AsSpan(_start, stop - _start);
                _start = stop + 1;
                _lineNumber++;
                if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
                return line.Length > maxLineBytes
                    ? new Frame(FrameKind.TooLong, _lineNumber, default, line.Length, null)
                    : new Frame(FrameKind.Line, _lineNumber, line, line.Length, null);
            }
            if (_eof)
            {
                if (_start == _end) return new Frame(FrameKind.End, _lineNumber, default, 0, null);
                var last = _buffer.AsSpan(_start, _end - _start);
                _start = _end;
                _lineNumber++;
                return last.Length > maxLineBytes
                    ? new Frame(FrameKind.TooLong, _lineNumber, default, last.Length, null)
                    : new Frame(FrameKind.Line, _lineNumber, last, last.Length, null);
            }
            if (_end - _start > maxLineBytes) return SkipLongLine();
            var searched = _end - _start;
            if (Fill() is { } error) return new Frame(FrameKind.Error, _lineNumber + 1, default, 0, error);
            scanFrom = _start + searched;
        }
    }

    /// <summary>Drops the current line up to its newline, counting it; stops the input if it never ends.</summary>
    private Frame SkipLongLine()
    {
        long length = _end - _start;
        _start = _end = 0;
        _lineNumber++;
        while (true)
        {
            if (Fill() is { } error) return new Frame(FrameKind.Error, _lineNumber, default, length, error);
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                length += newline;
                _start += newline + 1;
                return new Frame(FrameKind.TooLong, _lineNumber, default, length, null);
            }
            length += _end - _start;
            _start = _end = 0;
            if (_eof) return new Frame(FrameKind.TooLong, _lineNumber, default, length, null);
            if (length > runawayBytes)
            {
                _eof = true;
                return new Frame(FrameKind.Error, _lineNumber, default, length,
                    $"line {_lineNumber} runs past {runawayBytes:N0} bytes without a newline; stopped reading", runaway: true);
            }
        }
    }

    /// <summary>Reads more into the buffer (compacting, or growing up to the line limit); null, or the read error.</summary>
    private string? Fill()
    {
        if (_start > 0 && (_end == _buffer.Length || _start == _end))
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, (int)Math.Min(maxLineBytes + 1L, _buffer.Length * 2L));
        try
        {
            var n = stream.Read(_buffer, _end, _buffer.Length - _end);
            if (n == 0) _eof = true;
            _end += n;
            return null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            _eof = true;
            return e.Message;
        }
    }
}
