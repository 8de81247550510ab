using System.IO.Hashing;
using System.Runtime.InteropServices;
using FlowWatch.Flows;

namespace FlowWatch.Pipeline;

/// <summary>A flow id (Hubble's uuid) as 64 bits: what the checkpoint keeps of the flows it must not process twice.</summary>
/// <remarks>Stable across processes (XxHash3, seed 0, of a canonical id's 16 bytes, else of the id's UTF-16 code units), so a restarted FlowWatch recognises ids the
/// previous one wrote. Collisions are negligible at the bounded counts kept (2^18 ids against a resumed stream: about 1 in 10^8),
/// and would only make one resent flow count as already processed.</remarks>
public static class FlowIdHash
{
    /// <summary>The id's hash: of its 16 bytes when it is a canonical uuid (whether the flow came as bytes or as text), else of its text.</summary>
    public static ulong Of(string id) =>
        Uuid128.TryParse(id.AsSpan(), out var bits) ? Of(bits) : XxHash3.HashToUInt64(MemoryMarshal.AsBytes(id.AsSpan()));

    /// <summary>As <see cref="Of(string)"/>, without formatting a canonical id as text: the per-flow path.</summary>
    public static ulong Of(FlowRecord flow) =>
        flow.CanonicalUuid is { Present: true } bits ? Of(bits) : Of(flow.Uuid);

    private static ulong Of(Uuid128 bits)
    {
        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, bits.High);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], bits.Low);
        return XxHash3.HashToUInt64(bytes);
    }

    /// <summary>The hashes packed for the checkpoint: 8 bytes each, little-endian, as base64.</summary>
    public static string Pack(IReadOnlyList<ulong> hashes)
    {
        var bytes = new byte[hashes.Count * 8];
        for (var i = 0; i < hashes.Count; i++) System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), hashes[i]);
        return Convert.ToBase64String(bytes);
    }

    /// <summary>The hashes <see cref="Pack"/> wrote; null when <paramref name="packed"/> is not such a list.</summary>
    public static ulong[]? Unpack(string? packed)
    {
        if (packed is null) return null;
        byte[] bytes;
        try { bytes = Convert.FromBase64String(packed); }
        catch (FormatException) { return null; }
        if (bytes.Length % 8 != 0) return null;
        var hashes = new ulong[bytes.Length / 8];
        for (var i = 0; i < hashes.Length; i++) hashes[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(i * 8));
        return hashes;
    }
}
