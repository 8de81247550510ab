using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Flow;

namespace FlowWatch.Hubble;

/// <summary>Cilium's names for where events were lost (<c>LostEventSource</c>), and saturating sums of their counts.</summary>
/// <remarks>A source number this build does not know becomes "unknown": it ends up as a metric label, so it must come
/// from a fixed set, never from the wire.</remarks>
public static class LostEventSourceNames
{
    public const string Unknown = "unknown";

    public static string Of(int source) =>
        Enum.IsDefined((LostEventSource)source) ? ProtoEnumNames<LostEventSource>.Of((LostEventSource)source) : Unknown;

    public static string Of(LostEventSource source) => Of((int)source);

    /// <summary>a + b, or <see cref="ulong.MaxValue"/> when that does not fit: a count that wraps to 0 would say "nothing lost".</summary>
    public static ulong SaturatingAdd(ulong a, ulong b) => a > ulong.MaxValue - b ? ulong.MaxValue : a + b;
}
