using System.Globalization;
using System.Text;
using System.Text.Json;

namespace FlowWatch.Flows.Json;

/// <summary>
/// Reads protojson scalar values from a <see cref="Utf8JsonReader"/> by the rules of Google.Protobuf's JSON parser:
/// integers as numbers (integral doubles in range) or as strings (no '+', no leading zeros), enums by name or number,
/// booleans only as true/false, timestamps as RFC 3339. A value that breaks the rules throws <see cref="FormatException"/>.
/// </summary>
/// <remarks>The reader is positioned on the value; null is the caller's business (it clears the field).</remarks>
internal static class JsonValues
{
    public static uint UInt32(ref Utf8JsonReader r)
    {
        if (r.TokenType == JsonTokenType.Number && r.TryGetUInt32(out var fast)) return fast;
        return (uint)Integral(ref r, 0, uint.MaxValue);
    }

    public static int Int32(ref Utf8JsonReader r)
    {
        if (r.TokenType == JsonTokenType.Number && r.TryGetInt32(out var fast)) return fast;
        return (int)Integral(ref r, int.MinValue, int.MaxValue);
    }

    public static ulong UInt64(ref Utf8JsonReader r)
    {
        if (r.TokenType == JsonTokenType.Number)
        {
            // Exact only below 2^53; above that the reference parser goes through a double, and so must we.
            if (r.TryGetUInt64(out var fast) && fast < 1UL << 53) return fast;
            var d = Double(ref r);
            try { return checked((ulong)d); }
            catch (OverflowException) { throw new FormatException($"Value out of range: {d}"); }
        }
        if (r.TokenType == JsonTokenType.String) return NumericString(ref r, static (s, st, c) => ulong.Parse(s, st, c));
        throw Unsupported(r.TokenType, "uint64");
    }

    // Number or string to an integer in [min, max], or FormatException, as the reference parser does for 32-bit fields.
    private static long Integral(ref Utf8JsonReader r, long min, long max)
    {
        if (r.TokenType == JsonTokenType.Number)
        {
            var d = Double(ref r);
            if (d < min || d > max) throw new FormatException($"Value out of range: {d}");
            return (long)d;
        }
        if (r.TokenType == JsonTokenType.String)
        {
            var v = NumericString(ref r, static (s, st, c) => long.Parse(s, st, c));
            if (v < min || v > max) throw new FormatException($"Value out of range: {v}");
            return v;
        }
        throw Unsupported(r.TokenType, "integer");
    }

    private static double Double(ref Utf8JsonReader r)
    {
        if (!r.TryGetDouble(out var d) || double.IsInfinity(d) || double.IsNaN(d) || d != Math.Floor(d))
            throw new FormatException("Value not an integer: " + Encoding.UTF8.GetString(r.ValueSpan));
        return d;
    }

    private delegate T Parse<out T>(string s, NumberStyles styles, IFormatProvider provider);

    private static T NumericString<T>(ref Utf8JsonReader r, Parse<T> parse)
    {
        var text = r.GetString()!;
        if (text.StartsWith('+') || (text.Length > 1 && text[0] == '0' && char.IsAsciiDigit(text[1]))
            || (text.Length > 2 && text.StartsWith("-0", StringComparison.Ordinal) && char.IsAsciiDigit(text[2])))
            throw new FormatException("Invalid numeric value: " + text);
        try
        {
            return parse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);
        }
        catch (OverflowException) { throw new FormatException("Value out of range: " + text); }
        catch (FormatException) { throw new FormatException("Invalid numeric value for type: " + text); }
    }

    public static bool Bool(ref Utf8JsonReader r) => r.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw Unsupported(r.TokenType, "bool"),
    };

    /// <summary>An enum by its proto name or number; an unknown name leaves <paramref name="value"/> as it was (unknown fields are ignored).</summary>
    public static void Enum(ref Utf8JsonReader r, JsonNames names, ref int value)
    {
        if (r.TokenType == JsonTokenType.String)
        {
            if (names.TryFind(Unescaped(ref r), out var v)) value = v;
            return;
        }
        if (r.TokenType == JsonTokenType.Number)
        {
            value = r.TryGetInt32(out var fast) ? fast : (int)Integral(ref r, int.MinValue, int.MaxValue);
            return;
        }
        throw Unsupported(r.TokenType, "enum");
    }

    [ThreadStatic] private static byte[]? t_unescaped;

    /// <summary>The string's bytes, unescaped (into a per-thread buffer, valid until the next call) when it has escapes.</summary>
    public static ReadOnlySpan<byte> Unescaped(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.String && r.TokenType != JsonTokenType.PropertyName) throw Unsupported(r.TokenType, "string");
        if (!r.ValueIsEscaped) return r.ValueSpan;
        var buffer = t_unescaped ??= new byte[1024];
        if (buffer.Length < r.ValueSpan.Length) buffer = t_unescaped = new byte[r.ValueSpan.Length * 2];
        return buffer.AsSpan(0, r.CopyString(buffer));
    }

    public static FormatException Unsupported(JsonTokenType token, string type) =>
        new($"Unsupported JSON token type {token} for field type {type}");

    private static readonly int[] SubsecondScale = [0, 100000000, 100000000, 10000000, 1000000, 100000, 10000, 1000, 100, 10, 1];
    private const long MinSeconds = -62135596800L, MaxSeconds = 253402300799L;

    /// <summary>
    /// An RFC 3339 time as <c>seconds * 1e9 + nanos</c> (as FlowConverter sums a Timestamp), with the reference parser's
    /// pattern: <c>yyyy-MM-ddTHH:mm:ss</c>, 1-9 fraction digits, <c>Z</c> or <c>±hh:mm</c> up to 18 h, not <c>-00:00</c>.
    /// </summary>
    public static long Timestamp(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.String) throw new FormatException("Expected string value for Timestamp");
        var t = Unescaped(ref r);
        // .NET's '$' also matches before one final newline; the reference pattern inherits that.
        if (t.Length > 0 && t[^1] == '\n') t = t[..^1];
        if (!TryTimestamp(t, out var nanos)) throw new FormatException("Invalid Timestamp value: " + Encoding.UTF8.GetString(t));
        return nanos;
    }

    private static bool TryTimestamp(ReadOnlySpan<byte> t, out long result)
    {
        result = 0;
        if (t.Length < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':') return false;
        if (!Digits(t, 0, 4, out var year) || !Digits(t, 5, 2, out var month) || !Digits(t, 8, 2, out var day)
            || !Digits(t, 11, 2, out var hour) || !Digits(t, 14, 2, out var minute) || !Digits(t, 17, 2, out var second)) return false;
        if (t[5] > '1' || t[8] > '3' || t[11] > '2' || t[14] > '5' || t[17] > '5') return false;
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23) return false;
        var i = 19;
        var nanos = 0;
        if (t[i] == '.')
        {
            var start = ++i;
            while (i < t.Length && t[i] is >= (byte)'0' and <= (byte)'9') i++;
            var digits = i - start;
            if (digits is < 1 or > 9) return false;
            Digits(t, start, digits, out nanos);
            nanos *= SubsecondScale[digits + 1];
        }
        var offsetSeconds = 0;
        if (i == t.Length - 1 && t[i] == 'Z') { }
        else if (i == t.Length - 6 && t[i] is (byte)'+' or (byte)'-' && t[i + 3] == ':'
                 && Digits(t, i + 1, 2, out var oh) && Digits(t, i + 4, 2, out var om) && t[i + 1] <= '1' && t[i + 4] <= '5')
        {
            var minutes = oh * 60 + om;
            if (minutes > 18 * 60 || (minutes == 0 && t[i] == '-')) return false;
            offsetSeconds = (t[i] == '-' ? 1 : -1) * minutes * 60;
        }
        else return false;
        var seconds = (new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond;
        seconds += offsetSeconds;
        if ((offsetSeconds != 0 || nanos != 0) && (seconds < MinSeconds || seconds > MaxSeconds)) return false;
        result = unchecked(seconds * 1_000_000_000L + nanos);
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> t, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            var c = t[i];
            if (c is < (byte)'0' or > (byte)'9') return false;
            value = value * 10 + (c - '0');
        }
        return true;
    }
}
