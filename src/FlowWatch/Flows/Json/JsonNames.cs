using System.Text;
using Google.Protobuf.Reflection;

namespace FlowWatch.Flows.Json;

/// <summary>UTF-8 names to numbers, looked up from bytes without a string: a message's field names, or an enum's value names.</summary>
/// <remarks>
/// Built from the generated descriptors, so the spellings are exactly the ones Google.Protobuf's JSON parser accepts:
/// for fields both the proto name (<c>source_port</c>, which <c>hubble observe -o jsonpb</c> writes) and the JSON name
/// (<c>sourcePort</c>); for enums the proto value name (<c>FORWARDED</c>). Immutable once built, so shared by threads.
/// </remarks>
internal sealed class JsonNames
{
    private readonly byte[]?[] _keys;
    private readonly int[] _values;
    private readonly int _mask;

    private JsonNames(IReadOnlyCollection<(string Name, int Value)> entries)
    {
        var size = 16;
        while (size < entries.Count * 4) size <<= 1;
        _keys = new byte[]?[size];
        _values = new int[size];
        _mask = size - 1;
        foreach (var (name, value) in entries)
        {
            var key = Encoding.UTF8.GetBytes(name);
            var slot = Hash(key) & _mask;
            while (_keys[slot] is { } existing)
            {
                if (existing.AsSpan().SequenceEqual(key)) break;
                slot = (slot + 1) & _mask;
            }
            _keys[slot] = key;
            _values[slot] = value;
        }
    }

    public static JsonNames Fields(MessageDescriptor message) =>
        new(message.Fields.InDeclarationOrder()
            .SelectMany(f => new[] { (f.Name, f.FieldNumber), (f.JsonName, f.FieldNumber) })
            .DistinctBy(e => e.Item1).ToList());

    public static JsonNames Values(EnumDescriptor e) => new(e.Values.Select(v => (v.Name, v.Number)).ToList());

    /// <summary>The number for the name, or false when the name is not there.</summary>
    public bool TryFind(ReadOnlySpan<byte> name, out int value)
    {
        var slot = Hash(name) & _mask;
        while (_keys[slot] is { } key)
        {
            if (key.AsSpan().SequenceEqual(name)) { value = _values[slot]; return true; }
            slot = (slot + 1) & _mask;
        }
        value = 0;
        return false;
    }

    /// <summary>A field number, or 0 (no field has it) for a name the message does not declare.</summary>
    public int Find(ReadOnlySpan<byte> name) => TryFind(name, out var v) ? v : 0;

    // FNV-1a: names are short, and this is cheaper than a general-purpose hash on a dozen bytes.
    private static int Hash(ReadOnlySpan<byte> bytes)
    {
        var h = 2166136261u;
        foreach (var b in bytes) h = (h ^ b) * 16777619u;
        return (int)(h ^ h >> 15) & int.MaxValue;
    }
}
