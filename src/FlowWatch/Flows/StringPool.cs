using System.Collections.Concurrent;

namespace FlowWatch.Flows;

/// <summary>A bounded intern pool so that millions of records share a few thousand name strings.</summary>
/// <remarks>Once full it stops adding and hands back the caller's string; <see cref="Overflow"/> counts those.</remarks>
public sealed class StringPool(int capacity = 200_000)
{
    private readonly ConcurrentDictionary<string, string> _pool = new(StringComparer.Ordinal);
    private long _overflow;

    public static StringPool Shared { get; } = new();

    public int Count => _pool.Count;
    public long Overflow => Interlocked.Read(ref _overflow);

    public string Intern(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        if (_pool.TryGetValue(value, out var existing)) return existing;
        if (_pool.Count >= capacity) { Interlocked.Increment(ref _overflow); return value; }
        return _pool.GetOrAdd(value, value);
    }
}
