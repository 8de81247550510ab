using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace FlowWatch.Pipeline;

/// <summary>A flow id (Hubble's uuid) as 64 bits: what the checkpoint keeps of the flows it must not process twice.</summary>
/// <remarks>Stable across processes (XxHash3 of the id's UTF-16 code units, seed 0), so a restarted FlowWatch recognises ids the
/// previous one wrote. Collisions are negligible at the bounded counts kept (2^18 ids against a resumed stream: about 1 in 10^8),
/// and would only make one resent flow count as already processed.</remarks>
public static class FlowIdHash
{
    public static ulong Of(string id) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(id.AsSpan()));

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
