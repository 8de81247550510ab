using System.Globalization;
using FlowWatch.Flows;
using FlowWatch.Store;

namespace FlowWatch.Api;

/// <summary>Turns stored flows into their API form, with a one-line summary like <c>hubble observe</c>'s.</summary>
public static class FlowViews
{
    public static FlowView From(StoredFlow f) => new(
        f.Seq, f.Time, f.Node, Name(f.Verdict),
        f.DropReason == 0 ? null : f.DropReasonName, f.DropReason == 0 ? null : f.DropReason,
        Name(f.Protocol), Side(f.Source), Side(f.Destination),
        f.Protocol == L4Protocol.Tcp ? Flags(f.TcpFlags) : null,
        f.Direction == TrafficDirection.Unknown ? null : Name(f.Direction),
        f.Reply == ReplyState.Unknown ? null : f.Reply == ReplyState.Reply,
        f.ObservationPoint == ObservationPoint.Unknown ? null : ObservationPointName(f.ObservationPoint),
        L7(f), Summary(f));

    public static string Name<T>(T value) where T : struct, Enum => LowerNames<T>.Of(value);

    private static EndpointView Side(StoredEndpoint e)
    {
        var endpoint = e.ToFlowEndpoint();
        return new EndpointView(
            e.Ip.IsNone ? null : e.Ip.ToString(), e.Port == 0 ? null : e.Port, e.Identity,
            Blank(e.Namespace), Blank(e.Pod), Blank(e.Workload), Blank(e.WorkloadKind), Blank(e.Service),
            endpoint.Display.Length > 0 ? endpoint.Display : e.Ip.ToString());
    }

    private static string? Blank(string s) => s.Length == 0 ? null : s;

    private static L7View? L7(StoredFlow f) => f.L7Protocol switch
    {
        L7Protocol.Dns => new L7View("dns", Name(f.L7Kind), f.L7Name, Blank(f.L7Detail), f.L7Code, null, null, null),
        L7Protocol.Http => new L7View("http", Name(f.L7Kind), null, null, null, Blank(f.L7Detail), Blank(f.L7Name), f.L7Code == 0 ? null : f.L7Code),
        L7Protocol.Other => new L7View("other", Name(f.L7Kind), null, null, null, null, null, null),
        _ => null,
    };

    /// <summary>Every combination of the nine TCP flags, spelled once: an answer of 10,000 flows would otherwise build each anew.</summary>
    private static readonly string?[] FlagText = BuildFlagText();

    private static readonly string[] TcpSummaryText = FlagText.Select(t => t is null ? "TCP" : $"TCP Flags: {t}").ToArray();

    public static string? Flags(TcpFlags flags) => (int)flags < FlagText.Length ? FlagText[(int)flags] : SpellFlags(flags);

    private static string?[] BuildFlagText()
    {
        var all = Enum.GetValues<TcpFlags>().Aggregate(0, (a, f) => a | (int)f);
        var text = new string?[all + 1];
        for (var v = 0; v <= all; v++) text[v] = SpellFlags((TcpFlags)v);
        return text;
    }

    private static string? SpellFlags(TcpFlags flags)
    {
        if (flags == TcpFlags.None) return null;
        var names = new List<string>(4);
        foreach (var flag in Enum.GetValues<TcpFlags>())
            if (flag != TcpFlags.None && flags.HasFlag(flag)) names.Add(flag.ToString().ToUpperInvariant());
        return string.Join(", ", names);
    }

    /// <summary>The lower-case names of an enum's declared values, spelled once; other values are spelled each time.</summary>
    private static class LowerNames<T> where T : struct, Enum
    {
        private static readonly Dictionary<T, string> Names = Enum.GetValues<T>().Distinct().ToDictionary(v => v, v => v.ToString().ToLowerInvariant());

        public static string Of(T value) => Names.TryGetValue(value, out var name) ? name : value.ToString().ToLowerInvariant();
    }

    private static string ObservationPointName(ObservationPoint p) => p switch
    {
        ObservationPoint.ToProxy => "to-proxy", ObservationPoint.ToHost => "to-host", ObservationPoint.ToStack => "to-stack",
        ObservationPoint.ToOverlay => "to-overlay", ObservationPoint.FromEndpoint => "from-endpoint",
        ObservationPoint.FromProxy => "from-proxy", ObservationPoint.FromHost => "from-host",
        ObservationPoint.FromStack => "from-stack", ObservationPoint.FromOverlay => "from-overlay",
        ObservationPoint.FromNetwork => "from-network", ObservationPoint.ToNetwork => "to-network",
        ObservationPoint.ToEndpoint => "to-endpoint", _ => "unknown",
    };

    /// <summary>"TCP Flags: SYN", "UDP", "ICMPv4 type 8 code 0", "DNS Query example.com. A", "HTTP/1.1 GET /x".</summary>
    public static string Summary(StoredFlow f)
    {
        switch (f.L7Protocol)
        {
            case L7Protocol.Dns:
                var what = f.L7Kind == L7Kind.Response ? "Answer" : "Query";
                var rcode = f.L7Kind == L7Kind.Response && f.L7Code != 0 ? $" RCode: {DnsRcodeName(f.L7Code)}" : "";
                return $"DNS {what} {f.L7Name} {f.L7Detail}{rcode}".TrimEnd();
            case L7Protocol.Http:
                return f.L7Kind == L7Kind.Response
                    ? $"HTTP/1.1 {f.L7Code.ToString(CultureInfo.InvariantCulture)} {f.L7Detail} {f.L7Name}".TrimEnd()
                    : $"HTTP/1.1 {f.L7Detail} {f.L7Name}".TrimEnd();
        }
        return f.Protocol switch
        {
            L4Protocol.Tcp => (int)f.TcpFlags < TcpSummaryText.Length ? TcpSummaryText[(int)f.TcpFlags] : $"TCP Flags: {Flags(f.TcpFlags)}",
            L4Protocol.Udp => "UDP",
            L4Protocol.Icmpv4 => $"ICMPv4 type {f.IcmpType} code {f.IcmpCode}",
            L4Protocol.Icmpv6 => $"ICMPv6 type {f.IcmpType} code {f.IcmpCode}",
            L4Protocol.Sctp => "SCTP",
            _ => f.Kind == FlowKind.Unknown ? "" : Name(f.Kind),
        };
    }

    private static string DnsRcodeName(int rcode) => rcode switch
    {
        1 => "Format Error", 2 => "Server Failure", 3 => "Non-Existent Domain", 4 => "Not Implemented", 5 => "Refused",
        _ => rcode.ToString(CultureInfo.InvariantCulture),
    };
}
