namespace FlowWatch.Simulation;

/// <summary>xoshiro256** seeded by SplitMix64: fast, and the same sequence on every runtime and platform.</summary>
/// <remarks>System.Random's seeded algorithm is an implementation detail; recorded simulator output must not change with it.</remarks>
public sealed class SimRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public SimRandom(ulong seed)
    {
        var x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextU64()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, max).</summary>
    public int Next(int max) => max <= 0 ? 0 : (int)(((NextU64() >> 32) * (ulong)(uint)max) >> 32);

    /// <summary>Uniform in [min, max).</summary>
    public int Next(int min, int max) => min + Next(max - min);

    public double NextDouble() => (NextU64() >> 11) * (1.0 / (1UL << 53));

    public bool Chance(double p) => NextDouble() < p;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    private const string Hex = "0123456789abcdef";

    /// <summary>A random (version 4) UUID in its usual text form.</summary>
    public string NextUuid()
    {
        var hi = (NextU64() & 0xFFFF_FFFF_FFFF_0FFFUL) | 0x0000_0000_0000_4000UL;
        var lo = (NextU64() & 0x3FFF_FFFF_FFFF_FFFFUL) | 0x8000_0000_0000_0000UL;
        return string.Create(36, (hi, lo), static (span, v) =>
        {
            var pos = 0;
            for (var i = 0; i < 32; i++)
            {
                if (i is 8 or 12 or 16 or 20) span[pos++] = '-';
                var word = i < 16 ? v.hi : v.lo;
                span[pos++] = Hex[(int)(word >> (60 - 4 * (i & 15))) & 15];
            }
        });
    }

    private const string NameAlphabet = "bcdfghjklmnpqrstvwxz2456789";

    /// <summary>Kubernetes-style generated name part (replica-set hash, pod suffix).</summary>
    public string NextNamePart(int length)
    {
        Span<char> chars = stackalloc char[length];
        for (var i = 0; i < length; i++) chars[i] = NameAlphabet[Next(NameAlphabet.Length)];
        return new string(chars);
    }
}
