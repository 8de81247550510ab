using FlowWatch.Hubble.Proto.Flow;

namespace FlowWatch.Flows;

/// <summary>Names for Cilium's numeric drop reasons, taken from the generated enum once.</summary>
public static class DropReasons
{
    private static readonly Dictionary<int, string> Names =
        Enum.GetValues<DropReason>().ToDictionary(r => (int)r, ProtoEnumNames<DropReason>.Of);

    private static readonly Dictionary<string, int> Codes =
        Names.ToDictionary(p => p.Value, p => p.Key, StringComparer.OrdinalIgnoreCase);

    /// <summary>Cilium's name ("POLICY_DENIED") or the number for reasons newer than these protos.</summary>
    public static string Name(int code) =>
        code == 0 ? "" : Names.TryGetValue(code, out var n) ? n : code.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static bool TryParse(string name, out int code)
    {
        if (Codes.TryGetValue(name, out code)) return true;
        return int.TryParse(name, out code);
    }

    /// <summary>True for the reasons that mean network policy said no.</summary>
    public static bool IsPolicy(int code) => code is (int)DropReason.PolicyDenied or (int)DropReason.PolicyDeny or (int)DropReason.AuthRequired;
}
