using System.Reflection;
using Google.Protobuf.Reflection;

namespace FlowWatch.Flows;

/// <summary>Cilium's own names for generated protobuf enum values ("HUBBLE_RING_BUFFER", not "HubbleRingBuffer").</summary>
public static class ProtoEnumNames<T> where T : struct, Enum
{
    private static readonly Dictionary<T, string> Names = typeof(T)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .ToDictionary(f => (T)f.GetValue(null)!, f => f.GetCustomAttribute<OriginalNameAttribute>()?.Name ?? f.Name);

    public static string Of(T value) => Names.TryGetValue(value, out var n) ? n : Convert.ToInt64(value).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
