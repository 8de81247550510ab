using System.Globalization;

namespace FlowWatch.Api;

/// <summary>Hubble's <c>--type</c> vocabulary: Cilium's monitor message type names, and trace observation points as sub-types.</summary>
/// <remarks>As hubble observe turns them into an EventTypeFilter (pkg/monitor/api: MessageTypeNames, TraceObservationPoints):
/// "trace" is type 4 with any sub-type, "trace:to-endpoint" type 4 with sub-type 0; a number works for either part.</remarks>
public static class EventTypes
{
    private static readonly Dictionary<string, byte> Types = new(StringComparer.Ordinal)
    {
        ["drop"] = 1, ["debug"] = 2, ["capture"] = 3, ["trace"] = 4, ["policy-verdict"] = 5, ["recorder"] = 6,
        ["trace-sock"] = 7, ["l7"] = 129, ["agent"] = 130,
    };

    private static readonly Dictionary<string, byte> TraceSubTypes = new(StringComparer.Ordinal)
    {
        ["to-endpoint"] = 0, ["to-proxy"] = 1, ["to-host"] = 2, ["to-stack"] = 3, ["to-overlay"] = 4, ["from-endpoint"] = 5,
        ["from-proxy"] = 6, ["from-host"] = 7, ["from-stack"] = 8, ["from-overlay"] = 9, ["from-network"] = 10, ["to-network"] = 11,
    };

    public static string Help => $"{string.Join(", ", Types.Keys)}, optionally with a sub-type (trace:to-endpoint, trace:from-network, drop:133)";

    /// <summary>(type, sub-type or null for any), or null when the text names no type.</summary>
    public static (byte Type, byte? SubType)? Parse(string text)
    {
        var colon = text.IndexOf(':');
        var typeText = colon < 0 ? text : text[..colon];
        if (!Types.TryGetValue(typeText, out var type) && !byte.TryParse(typeText, NumberStyles.None, CultureInfo.InvariantCulture, out type)) return null;
        if (colon < 0) return (type, null);
        var subText = text[(colon + 1)..];
        if (type == 4 && TraceSubTypes.TryGetValue(subText, out var trace)) return (type, trace);
        return byte.TryParse(subText, NumberStyles.None, CultureInfo.InvariantCulture, out var sub) ? (type, sub) : null;
    }
}
