using System.Globalization;
using FlowWatch.Hubble.Proto.Flow;

namespace FlowWatch.Simulation;

/// <summary>The deprecated Flow.Summary text in Cilium's wording, which <c>hubble observe</c>'s compact output prints.</summary>
/// <remarks>
/// As Cilium's parsers write it (and the corpus shows): "TCP Flags: SYN, ACK", "UDP", "ICMPv4 EchoRequest",
/// "DNS Query q. A", "DNS Answer \"10.0.0.1\" TTL: 30 (Proxy q. A)", "DNS Answer RCode: Non-Existent Domain TTL: 30
/// (Proxy q. A)", "HTTP/1.1 GET http://h/p", "HTTP/1.1 200 12ms (GET http://h/p)".
/// </remarks>
public static class FlowSummary
{
    public static string Of(Flow flow)
    {
        if (flow.L7 is { } l7)
        {
            if (l7.Dns is { } dns) return Dns(dns, l7.Type == L7FlowType.Response);
            if (l7.Http is { } http) return Http(http, l7.Type == L7FlowType.Response, l7.LatencyNs);
        }
        return flow.L4 switch
        {
            { TCP: { } tcp } => Tcp(tcp.Flags),
            { UDP: not null } => "UDP",
            { SCTP: not null } => "SCTP",
            { ICMPv4: { } icmp } => "ICMPv4 " + Icmpv4(icmp.Type, icmp.Code),
            { ICMPv6: { } icmp6 } => "ICMPv6 " + icmp6.Type.ToString(CultureInfo.InvariantCulture),
            _ => "",
        };
    }

    /// <summary>Cilium lists the flags in this order: SYN, ACK, RST, FIN, PSH, URG, ECE, CWR, NS.</summary>
    public static string Tcp(TCPFlags? f)
    {
        if (f is null) return "TCP";
        var names = new List<string>(3);
        if (f.SYN) names.Add("SYN");
        if (f.ACK) names.Add("ACK");
        if (f.RST) names.Add("RST");
        if (f.FIN) names.Add("FIN");
        if (f.PSH) names.Add("PSH");
        if (f.URG) names.Add("URG");
        if (f.ECE) names.Add("ECE");
        if (f.CWR) names.Add("CWR");
        if (f.NS) names.Add("NS");
        return "TCP Flags: " + string.Join(", ", names);
    }

    public static string Dns(DNS d, bool response)
    {
        var types = string.Join(",", d.Qtypes);
        if (!response) return $"DNS Query {d.Query} {types}";
        var answer = d.Rcode != 0 ? "RCode: " + RcodeName(d.Rcode)
            : d.Ips.Count > 0 ? "\"" + string.Join(",", d.Ips) + "\"" : "";
        var source = d.ObservationSource == "proxy" ? "Proxy" : "Query";
        return $"DNS Answer {answer} TTL: {d.Ttl} ({source} {d.Query} {types})";
    }

    public static string Http(HTTP h, bool response, ulong latencyNs) => response
        ? $"{h.Protocol} {h.Code} {latencyNs / 1_000_000}ms ({h.Method} {h.Url})"
        : $"{h.Protocol} {h.Method} {h.Url}";

    /// <summary>IANA's descriptions of DNS RCODEs, as Cilium prints them.</summary>
    public static string RcodeName(uint rcode) => rcode switch
    {
        0 => "No Error",
        1 => "Format Error",
        2 => "Server Failure",
        3 => "Non-Existent Domain",
        4 => "Not Implemented",
        5 => "Query Refused",
        _ => rcode.ToString(CultureInfo.InvariantCulture),
    };

    private static string Icmpv4(uint type, uint code) => type switch
    {
        0 => "EchoReply",
        3 => "DestinationUnreachable(" + code.ToString(CultureInfo.InvariantCulture) + ")",
        8 => "EchoRequest",
        11 => "TimeExceeded",
        _ => type.ToString(CultureInfo.InvariantCulture),
    };
}
