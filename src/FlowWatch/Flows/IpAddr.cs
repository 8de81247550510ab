using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace FlowWatch.Flows;

/// <summary>An IPv4 or IPv6 address as two integers: cheap to compare, hash and keep in maps.</summary>
/// <remarks>IPv4 is held IPv4-mapped (::ffff:a.b.c.d) so one type serves both families.</remarks>
public readonly record struct IpAddr(ulong Hi, ulong Lo) : IComparable<IpAddr>
{
    private const ulong V4MappedHi = 0;
    private const ulong V4MappedLoPrefix = 0x0000_FFFF_0000_0000UL;

    public static readonly IpAddr None = default;

    public bool IsNone => Hi == 0 && Lo == 0;
    public bool IsV4 => Hi == V4MappedHi && (Lo & 0xFFFF_FFFF_0000_0000UL) == V4MappedLoPrefix;
    public uint V4 => (uint)Lo;

    public static IpAddr FromV4(uint address) => new(V4MappedHi, V4MappedLoPrefix | address);

    public static IpAddr FromV4(byte a, byte b, byte c, byte d) => FromV4((uint)(a << 24 | b << 16 | c << 8 | d));

    public static IpAddr Parse(string text) =>
        TryParse(text, out var ip) ? ip : throw new FormatException($"'{text}' is not an IP address");

    public static bool TryParse(ReadOnlySpan<char> text, out IpAddr ip)
    {
        ip = default;
        if (text.IsEmpty) return false;
        if (TryParseV4(text, out var v4)) { ip = FromV4(v4); return true; }
        // IPAddress also takes legacy IPv4 forms ("10.1.3", "0x0a..."): only IPv6 goes to it.
        if (!text.Contains(':') || !IPAddress.TryParse(text, out var address)) return false;
        ip = From(address);
        return true;
    }

    public static IpAddr From(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b4 = stackalloc byte[4];
            address.TryWriteBytes(b4, out _);
            return FromV4(BinaryPrimitives.ReadUInt32BigEndian(b4));
        }
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        return new IpAddr(BinaryPrimitives.ReadUInt64BigEndian(b), BinaryPrimitives.ReadUInt64BigEndian(b[8..]));
    }

    // Hand-rolled because nearly every flow carries two dotted quads and IPAddress allocates.
    private static bool TryParseV4(ReadOnlySpan<char> s, out uint value)
    {
        value = 0;
        int part = 0, digits = 0, parts = 0;
        foreach (var c in s)
        {
            if (c == '.')
            {
                if (digits == 0 || ++parts > 3) return false;
                value = value << 8 | (uint)part;
                part = 0; digits = 0;
            }
            else if (c is >= '0' and <= '9')
            {
                part = part * 10 + (c - '0');
                if (++digits > 3 || part > 255) return false;
            }
            else return false;
        }
        if (digits == 0 || parts != 3) return false;
        value = value << 8 | (uint)part;
        return true;
    }

    public IPAddress ToIPAddress()
    {
        if (IsV4)
        {
            Span<byte> b4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b4, V4);
            return new IPAddress(b4);
        }
        Span<byte> b = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(b, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(b[8..], Lo);
        return new IPAddress(b);
    }

    public override string ToString()
    {
        if (IsNone) return "";
        if (!IsV4) return ToIPAddress().ToString();
        var v = V4;
        return $"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}";
    }

    public int CompareTo(IpAddr other) => Hi != other.Hi ? Hi.CompareTo(other.Hi) : Lo.CompareTo(other.Lo);
}

/// <summary>A CIDR block such as 10.1.0.0/16, for peer ranges and pod ranges.</summary>
public readonly record struct IpPrefix(IpAddr Network, int Bits)
{
    /// <summary>Prefix length counted in the 128-bit space (IPv4 /24 is 96+24).</summary>
    private int Bits128 => Network.IsV4 ? Bits + 96 : Bits;

    public static IpPrefix Parse(string text) =>
        TryParse(text, out var p) ? p : throw new FormatException($"'{text}' is not a CIDR block like 10.0.0.0/8");

    public static bool TryParse(string text, out IpPrefix prefix)
    {
        prefix = default;
        var slash = text.IndexOf('/');
        var addrText = slash < 0 ? text.AsSpan() : text.AsSpan(0, slash);
        if (!IpAddr.TryParse(addrText, out var ip)) return false;
        var max = ip.IsV4 ? 32 : 128;
        var bits = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), out bits) || bits < 0 || bits > max)) return false;
        prefix = Of(ip, bits);
        return true;
    }

    /// <summary>The block of the given length that holds the address.</summary>
    public static IpPrefix Of(IpAddr ip, int bits)
    {
        var b128 = ip.IsV4 ? bits + 96 : bits;
        var (hi, lo) = Mask(b128);
        return new IpPrefix(new IpAddr(ip.Hi & hi, ip.Lo & lo), bits);
    }

    public bool Contains(IpAddr ip)
    {
        if (ip.IsV4 != Network.IsV4) return false;
        var (hi, lo) = Mask(Bits128);
        return (ip.Hi & hi) == Network.Hi && (ip.Lo & lo) == Network.Lo;
    }

    private static (ulong Hi, ulong Lo) Mask(int bits) => bits switch
    {
        <= 0 => (0, 0),
        < 64 => (ulong.MaxValue << (64 - bits), 0),
        64 => (ulong.MaxValue, 0),
        < 128 => (ulong.MaxValue, ulong.MaxValue << (128 - bits)),
        _ => (ulong.MaxValue, ulong.MaxValue),
    };

    public override string ToString() => $"{Network}/{Bits}";
}
