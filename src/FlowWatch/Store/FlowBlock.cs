using System.Numerics;
using System.Runtime.CompilerServices;

namespace FlowWatch.Store;

/// <summary>A block of the ring: <see cref="Size"/> consecutive flows, their time span and a Bloom filter of their keys.</summary>
/// <remarks>
/// The filter lets a selective query (one pod, one IP, one drop reason) skip whole blocks with a few bit
/// tests instead of posting lists that would cost more memory per flow than the flow itself. It is
/// cleared when the ring starts overwriting the block, so it never goes stale.
/// </remarks>
internal sealed class FlowBlock
{
    public const int Size = 4096;
    private const int FilterBits = 1 << 16;
    public const int IndexBytesPerFlow = FilterBits / 8 / Size;

    public readonly CompactFlow[] Entries = new CompactFlow[Size];
    private readonly ulong[] _filter = new ulong[FilterBits / 64];

    /// <summary>Sequence number of the block's first entry.</summary>
    public long StartSeq;
    public long MinTime = long.MaxValue;
    public long MaxTime = long.MinValue;

    public void Reset(long startSeq)
    {
        StartSeq = startSeq;
        MinTime = long.MaxValue;
        MaxTime = long.MinValue;
        Array.Clear(_filter);
    }

    public void NoteTime(long time)
    {
        if (time < MinTime) MinTime = time;
        if (time > MaxTime) MaxTime = time;
    }

    public void AddKey(ulong key)
    {
        var h = Mix(key);
        Set((int)(h & 0xFFFF));
        Set((int)((h >> 16) & 0xFFFF));
    }

    public bool MayContain(ulong key)
    {
        var h = Mix(key);
        return Test((int)(h & 0xFFFF)) && Test((int)((h >> 16) & 0xFFFF));
    }

    public bool Overlaps(long since, long until) => MaxTime >= since && MinTime <= until;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Set(int bit) => _filter[bit >> 6] |= 1UL << bit;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Test(int bit) => (_filter[bit >> 6] & (1UL << bit)) != 0;

    // splitmix64 finaliser: keys are small ints with a tag in the high bits, so they need spreading.
    private static ulong Mix(ulong x)
    {
        x ^= x >> 30; x *= 0xbf58476d1ce4e5b9UL;
        x ^= x >> 27; x *= 0x94d049bb133111ebUL;
        return x ^ (x >> 31);
    }

    public int FilterBitsSet()
    {
        var n = 0;
        foreach (var w in _filter) n += BitOperations.PopCount(w);
        return n;
    }
}

/// <summary>The keys a block's filter holds, one tag per field so equal numbers in different fields do not collide.</summary>
internal static class BlockKeys
{
    public static ulong Namespace(int id) => 1UL << 56 | (uint)id;
    public static ulong Pod(int id) => 2UL << 56 | (uint)id;
    public static ulong Workload(int id) => 3UL << 56 | (uint)id;
    public static ulong Node(int id) => 4UL << 56 | (uint)id;
    public static ulong Reason(int code) => 5UL << 56 | (uint)code;
    public static ulong Port(int port) => 6UL << 56 | (uint)port;
    public static ulong Verdict(int v) => 7UL << 56 | (uint)v;
    public static ulong Ip(Flows.IpAddr ip) => 8UL << 56 | ((ip.Hi * 31 + ip.Lo) & 0x00FF_FFFF_FFFF_FFFFUL);
}
