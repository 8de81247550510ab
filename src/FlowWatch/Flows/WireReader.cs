using System.Runtime.CompilerServices;

namespace FlowWatch.Flows;

/// <summary>Reads protobuf wire format from a span: tags, varints, length-delimited fields; skips the rest.</summary>
public ref struct WireReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;

    public bool End => _pos >= _data.Length;

    /// <summary>Next tag as (field, wire type); throws <see cref="FormatException"/> on malformed input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (int Field, int WireType) ReadTag()
    {
        var tag = ReadVarint();
        var field = (int)(tag >> 3);
        if (field <= 0 || tag >> 3 > 536_870_911) throw new FormatException("invalid field number");
        return (field, (int)(tag & 7));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_pos >= _data.Length) throw new FormatException("truncated varint");
            var b = _data[_pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw new FormatException("varint longer than 10 bytes");
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        var length = ReadVarint();
        if (length > (ulong)(_data.Length - _pos)) throw new FormatException("length past the end of the message");
        var slice = _data.Slice(_pos, (int)length);
        _pos += (int)length;
        return slice;
    }

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(); break;
            case 1: Advance(8); break;
            case 2: ReadBytes(); break;
            case 5: Advance(4); break;
            default: throw new FormatException($"unsupported wire type {wireType}");
        }
    }

    private void Advance(int n)
    {
        if (_data.Length - _pos < n) throw new FormatException("truncated fixed-width field");
        _pos += n;
    }
}
