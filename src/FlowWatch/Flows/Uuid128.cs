namespace FlowWatch.Flows;

/// <summary>A flow id in canonical text form (36 lowercase hex digits and hyphens) held as 16 bytes, formatted only when asked for.</summary>
/// <remarks>Hubble gives every flow a uuid; keeping it as text would cost a 96-byte string per flow that almost nothing reads.</remarks>
internal readonly struct Uuid128
{
    private readonly ulong _high;
    private readonly ulong _low;

    private Uuid128(ulong high, ulong low)
    {
        _high = high;
        _low = low;
        Present = true;
    }

    public bool Present { get; }

    /// <summary>The first and last eight bytes, for keeping the id in a compact entry (both zero: no id).</summary>
    public ulong High => _high;
    public ulong Low => _low;

    /// <summary>The id of <see cref="High"/> and <see cref="Low"/>; absent when both are zero (the nil uuid is no flow's id).</summary>
    public static Uuid128 FromBits(ulong high, ulong low) => high == 0 && low == 0 ? default : new Uuid128(high, low);

    /// <summary>As the byte overload, for an id already held as text.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out Uuid128 value)
    {
        value = default;
        if (text.Length != 36) return false;
        Span<byte> bytes = stackalloc byte[36];
        for (var i = 0; i < 36; i++)
        {
            if (text[i] > 0x7f) return false;
            bytes[i] = (byte)text[i];
        }
        return TryParse(bytes, out value);
    }

    /// <summary>True when the bytes are exactly the canonical lowercase form, so formatting gives the same text back.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out Uuid128 value)
    {
        value = default;
        if (text.Length != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-') return false;
        ulong high = 0, low = 0;
        var digits = 0;
        for (var i = 0; i < 36; i++)
        {
            if (i is 8 or 13 or 18 or 23) continue;
            var c = text[i];
            int nibble = c is >= (byte)'0' and <= (byte)'9' ? c - '0' : c is >= (byte)'a' and <= (byte)'f' ? c - 'a' + 10 : -1;
            if (nibble < 0) return false;
            if (digits++ < 16) high = high << 4 | (uint)nibble;
            else low = low << 4 | (uint)nibble;
        }
        value = new Uuid128(high, low);
        return true;
    }

    public override string ToString()
    {
        if (!Present) return "";
        return string.Create(36, this, static (span, u) =>
        {
            var digit = 0;
            for (var i = 0; i < 36; i++)
            {
                if (i is 8 or 13 or 18 or 23) { span[i] = '-'; continue; }
                var word = digit < 16 ? u._high : u._low;
                var nibble = (int)(word >> (60 - 4 * (digit % 16)) & 0xF);
                span[i] = (char)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
                digit++;
            }
        });
    }
}
