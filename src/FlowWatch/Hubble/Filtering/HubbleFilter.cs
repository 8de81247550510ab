using System.Globalization;
using System.Text.RegularExpressions;
using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Flow;
using Google.Protobuf;
using Verdict = FlowWatch.Hubble.Proto.Flow.Verdict;

namespace FlowWatch.Hubble.Filtering;

/// <summary>One Cilium <see cref="FlowFilter"/> compiled to the checks Hubble's filter engine makes (pkg/hubble/filters).</summary>
/// <remarks>
/// The fields of one filter are AND-ed and the values of one field OR-ed. Each field means what it means in Hubble
/// v1.14: pods and services are "namespace/name-prefix" (a value without '/' names the empty namespace; the CLI adds
/// "default/" itself); IPs are exact or CIDR; labels are Kubernetes selectors; FQDN and node names are Hubble's
/// patterns; node names without a cluster are in cluster "default"; http_* need L7 (event type 129) if event types
/// are given. Compiling refuses, naming the field, a malformed value and any field number this build does not know.
/// </remarks>
public sealed class HubbleFilter
{
    private const int AccessLogEventType = 129;

    private readonly Func<Flow, bool>[] _checks;

    private HubbleFilter(Func<Flow, bool>[] checks) => _checks = checks;

    /// <exception cref="FlowFilterException">A value Hubble would refuse, or a field unknown to this build.</exception>
    public static HubbleFilter Compile(FlowFilter f)
    {
        RefuseUnknownFields(f);
        var c = new List<Func<Flow, bool>>();
        if (f.Uuid.Count > 0) { var set = f.Uuid.ToHashSet(StringComparer.Ordinal); c.Add(x => set.Contains(x.Uuid)); }
        if (f.EventType.Count > 0) c.Add(EventTypes([.. f.EventType]));
        if (f.Verdict.Count > 0) { var v = f.Verdict.ToArray(); c.Add(x => Array.IndexOf(v, x.Verdict) >= 0); }
        if (f.Reply.Count > 0) c.Add(Reply([.. f.Reply]));
        if (f.SourceIdentity.Count > 0) { var ids = f.SourceIdentity.ToArray(); c.Add(x => x.Source is { } e && Array.IndexOf(ids, e.Identity) >= 0); }
        if (f.DestinationIdentity.Count > 0) { var ids = f.DestinationIdentity.ToArray(); c.Add(x => x.Destination is { } e && Array.IndexOf(ids, e.Identity) >= 0); }
        if (f.Protocol.Count > 0) c.Add(Protocols(f.Protocol));
        if (f.SourceIp.Count > 0) c.Add(Ips(f.SourceIp, "source_ip", x => x.IP?.Source));
        if (f.DestinationIp.Count > 0) c.Add(Ips(f.DestinationIp, "destination_ip", x => x.IP?.Destination));
        if (f.SourcePod.Count > 0) c.Add(Names(f.SourcePod, "source_pod", x => (x.Source?.Namespace ?? "", x.Source?.PodName ?? "")));
        if (f.DestinationPod.Count > 0) c.Add(Names(f.DestinationPod, "destination_pod", x => (x.Destination?.Namespace ?? "", x.Destination?.PodName ?? "")));
        if (f.SourceWorkload.Count > 0) c.Add(Workloads([.. f.SourceWorkload], x => x.Source));
        if (f.DestinationWorkload.Count > 0) c.Add(Workloads([.. f.DestinationWorkload], x => x.Destination));
        if (f.SourceService.Count > 0) c.Add(Names(f.SourceService, "source_service", x => (x.SourceService?.Namespace ?? "", x.SourceService?.Name ?? "")));
        if (f.DestinationService.Count > 0) c.Add(Names(f.DestinationService, "destination_service", x => (x.DestinationService?.Namespace ?? "", x.DestinationService?.Name ?? "")));
        if (f.SourceFqdn.Count > 0) { var r = NamePatterns.Fqdn(f.SourceFqdn, "source_fqdn"); c.Add(x => AnyMatch(r, x.SourceNames)); }
        if (f.DestinationFqdn.Count > 0) { var r = NamePatterns.Fqdn(f.DestinationFqdn, "destination_fqdn"); c.Add(x => AnyMatch(r, x.DestinationNames)); }
        if (f.DnsQuery.Count > 0) { var rs = Regexes(f.DnsQuery, "dns_query"); c.Add(x => x.L7?.Dns is { } d && rs.Any(r => r.IsMatch(d.Query))); }
        if (f.SourceLabel.Count > 0) c.Add(Labels(f.SourceLabel, "source_label", x => x.Source));
        if (f.DestinationLabel.Count > 0) c.Add(Labels(f.DestinationLabel, "destination_label", x => x.Destination));
        if (f.SourcePort.Count > 0) c.Add(Ports(f.SourcePort, "source_port", source: true));
        if (f.DestinationPort.Count > 0) c.Add(Ports(f.DestinationPort, "destination_port", source: false));
        if (f.HttpStatusCode.Count > 0) { RequireL7(f, "http_status_code"); c.Add(StatusCodes(f.HttpStatusCode)); }
        if (f.HttpMethod.Count > 0)
        {
            RequireL7(f, "http_method");
            var methods = f.HttpMethod.ToArray();
            c.Add(x => x.L7?.Http is { Method.Length: > 0 } h && methods.Any(m => string.Equals(m, h.Method, StringComparison.OrdinalIgnoreCase)));
        }
        if (f.HttpPath.Count > 0)
        {
            RequireL7(f, "http_path");
            var rs = Regexes(f.HttpPath, "http_path");
            c.Add(x => x.L7?.Http is { Url.Length: > 0 } h && RequestPath(h.Url) is { } path && rs.Any(r => r.IsMatch(path)));
        }
        if (f.TcpFlags.Count > 0) c.Add(Flags([.. f.TcpFlags]));
        if (f.NodeName.Count > 0)
        {
            var r = NamePatterns.NodeName(f.NodeName, "node_name");
            c.Add(x => x.NodeName.Length > 0 && r.IsMatch(x.NodeName.Contains('/') ? x.NodeName : "default/" + x.NodeName));
        }
        if (f.IpVersion.Count > 0) { var v = f.IpVersion.ToArray(); c.Add(x => Array.IndexOf(v, x.IP?.IpVersion ?? IPVersion.IpNotUsed) >= 0); }
        if (f.TraceId.Count > 0) { var set = f.TraceId.ToHashSet(StringComparer.Ordinal); c.Add(x => set.Contains(x.TraceContext?.Parent?.TraceId ?? "")); }
        if (f.TrafficDirection.Count > 0) { var d = f.TrafficDirection.ToArray(); c.Add(x => Array.IndexOf(d, x.TrafficDirection) >= 0); }
        return new HubbleFilter([.. c]);
    }

    public bool Matches(Flow flow)
    {
        foreach (var check in _checks)
            if (!check(flow)) return false;
        return true;
    }

    /// <summary>Hubble's Apply: some allow filter matches (or there is none) and no deny filter does.</summary>
    public static bool Apply(IReadOnlyList<HubbleFilter> allow, IReadOnlyList<HubbleFilter> deny, Flow flow)
    {
        if (allow.Count > 0)
        {
            var any = false;
            foreach (var a in allow) if (a.Matches(flow)) { any = true; break; }
            if (!any) return false;
        }
        foreach (var d in deny) if (d.Matches(flow)) return false;
        return true;
    }

    // Google.Protobuf keeps fields it does not know as unknown fields; they are only visible in the encoding.
    private static void RefuseUnknownFields(FlowFilter f)
    {
        var input = new CodedInputStream(f.ToByteArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var number = WireFormat.GetTagFieldNumber(tag);
            if (FlowFilter.Descriptor.FindFieldByNumber(number) is null)
                throw new FlowFilterException($"field {number}",
                    $"FlowFilter field number {number} is not known to this server (it speaks Cilium v1.14's FlowFilter); refusing rather than ignoring it");
            input.SkipLastField();
        }
    }

    private static Func<Flow, bool> EventTypes(EventTypeFilter[] types) => x =>
    {
        if (x.EventType is not { } e) return false;
        foreach (var t in types)
        {
            if (t.Type != 0 && t.Type != e.Type) continue;
            if (t.MatchSubType && t.SubType != e.SubType) continue;
            return true;
        }
        return false;
    };

    // Hubble treats an unknown is_reply on a dropped flow as "not a reply", for clients of the old reply field.
    private static Func<Flow, bool> Reply(bool[] wanted) => x =>
    {
        if (x.IsReply is null && x.Verdict != Verdict.Dropped) return false;
        return Array.IndexOf(wanted, x.IsReply ?? false) >= 0;
    };

    private static Func<Flow, bool> Protocols(IEnumerable<string> protocols)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in protocols)
        {
            var lower = p.ToLowerInvariant();
            if (lower is not ("icmp" or "icmpv4" or "icmpv6" or "tcp" or "udp" or "sctp" or "dns" or "http" or "kafka"))
                throw new FlowFilterException("protocol", $"protocol: unknown protocol '{p}' (known: tcp, udp, sctp, icmp, icmpv4, icmpv6, dns, http, kafka)");
            set.Add(lower);
        }
        return x =>
        {
            var l4 = x.L4;
            if (l4 is not null)
            {
                if ((set.Contains("icmp") || set.Contains("icmpv4")) && l4.ICMPv4 is not null) return true;
                if ((set.Contains("icmp") || set.Contains("icmpv6")) && l4.ICMPv6 is not null) return true;
                if (set.Contains("tcp") && l4.TCP is not null) return true;
                if (set.Contains("udp") && l4.UDP is not null) return true;
                if (set.Contains("sctp") && l4.SCTP is not null) return true;
            }
            var l7 = x.L7;
            return l7 is not null && (set.Contains("dns") && l7.Dns is not null || set.Contains("http") && l7.Http is not null
                || set.Contains("kafka") && l7.Kafka is not null);
        };
    }

    private static Func<Flow, bool> Ips(IEnumerable<string> values, string field, Func<Flow, string?> get)
    {
        var exact = new HashSet<string>(StringComparer.Ordinal);
        var cidrs = new List<IpPrefix>();
        foreach (var v in values)
        {
            if (v.Contains('/'))
                cidrs.Add(IpPrefix.TryParse(v, out var p) ? p : throw new FlowFilterException(field, $"{field}: invalid CIDR '{v}'"));
            else if (IpAddr.TryParse(v, out _)) exact.Add(v);
            else throw new FlowFilterException(field, $"{field}: invalid IP address '{v}'");
        }
        return x =>
        {
            var ip = get(x);
            if (string.IsNullOrEmpty(ip)) return false;
            if (exact.Contains(ip)) return true;
            if (cidrs.Count == 0 || !IpAddr.TryParse(ip, out var addr)) return false;
            foreach (var p in cidrs) if (p.Contains(addr)) return true;
            return false;
        };
    }

    // k8s.ParseNamespaceName: "ns/prefix", "ns/" (all of ns), "prefix" (empty namespace).
    private static Func<Flow, bool> Names(IEnumerable<string> values, string field, Func<Flow, (string Ns, string Name)> get)
    {
        var filters = new List<(string Ns, string Prefix)>();
        foreach (var v in values)
        {
            var parts = v.Split('/');
            var (ns, prefix) = parts.Length > 1 ? (parts[0], parts[1]) : ("", parts[0]);
            if (ns.Length == 0 && prefix.Length == 0)
                throw new FlowFilterException(field, $"{field}: invalid filter, must be [namespace/][<name>], got '{v}'");
            filters.Add((ns, prefix));
        }
        return x =>
        {
            var (ns, name) = get(x);
            if (ns.Length == 0 && name.Length == 0) return false;
            foreach (var (fns, prefix) in filters)
                if (fns == ns && name.StartsWith(prefix, StringComparison.Ordinal)) return true;
            return false;
        };
    }

    private static Func<Flow, bool> Workloads(Workload[] wanted, Func<Flow, Endpoint?> get) => x =>
    {
        if (get(x) is not { } e) return false;
        foreach (var w in e.Workloads)
            foreach (var f in wanted)
                if ((f.Name.Length == 0 || f.Name == w.Name) && (f.Kind.Length == 0 || f.Kind == w.Kind)) return true;
        return false;
    };

    private static Func<Flow, bool> Labels(IEnumerable<string> selectors, string field, Func<Flow, Endpoint?> get)
    {
        var parsed = selectors.Select(s => LabelSelector.Parse(s, field)).ToArray();
        return x =>
        {
            IReadOnlyList<string> labels = get(x)?.Labels ?? (IReadOnlyList<string>)[];
            foreach (var s in parsed) if (s.Matches(labels)) return true;
            return false;
        };
    }

    private static Func<Flow, bool> Ports(IEnumerable<string> values, string field, bool source)
    {
        var ports = values.Select(p => ushort.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? (uint)n
            : throw new FlowFilterException(field, $"{field}: invalid port '{p}'")).ToArray();
        return x =>
        {
            var l4 = x.L4;
            uint? port = l4?.TCP is { } t ? (source ? t.SourcePort : t.DestinationPort)
                : l4?.UDP is { } u ? (source ? u.SourcePort : u.DestinationPort)
                : l4?.SCTP is { } s ? (source ? s.SourcePort : s.DestinationPort)
                : null;
            return port is { } p && Array.IndexOf(ports, p & 0xFFFF) >= 0;
        };
    }

    private static void RequireL7(FlowFilter f, string field)
    {
        if (f.EventType.Count > 0 && !f.EventType.Any(t => t.Type == AccessLogEventType))
            throw new FlowFilterException(field, $"filtering by {field.Replace('_', ' ')} requires the event type filter to only match 'l7' events");
    }

    private static Func<Flow, bool> StatusCodes(IEnumerable<string> values)
    {
        var full = new List<string>();
        var prefixes = new List<string>();
        foreach (var s in values)
        {
            if (s.Length == 3 && s[0] is >= '1' and <= '5' && char.IsAsciiDigit(s[1]) && char.IsAsciiDigit(s[2])) full.Add(s);
            else if (s.Length is 2 or 3 && s[^1] == '+' && s[0] is >= '1' and <= '5' && (s.Length == 2 || char.IsAsciiDigit(s[1]))) prefixes.Add(s[..^1]);
            else throw new FlowFilterException("http_status_code", $"http_status_code: invalid status code prefix '{s}' (e.g. 404, 4+, 50+)");
        }
        return x =>
        {
            if (x.L7?.Http is not { Code: > 0 } h) return false;
            var code = h.Code.ToString("000", CultureInfo.InvariantCulture);
            return full.Contains(code) || prefixes.Any(p => code.StartsWith(p, StringComparison.Ordinal));
        };
    }

    // Go's url.ParseRequestURI(...).Path: an absolute URI's unescaped path, or the path of "/path?query".
    private static string? RequestPath(string url)
    {
        if (url.StartsWith('/'))
        {
            var end = url.IndexOfAny(['?', '#']);
            return Uri.UnescapeDataString(end < 0 ? url : url[..end]);
        }
        return Uri.TryCreate(url, UriKind.Absolute, out var uri) ? Uri.UnescapeDataString(uri.AbsolutePath) : null;
    }

    private static Func<Flow, bool> Flags(TCPFlags[] wanted) => x =>
    {
        if (x.L4?.TCP?.Flags is not { } have) return false;
        foreach (var w in wanted)
        {
            if (w.FIN && !have.FIN || w.SYN && !have.SYN || w.RST && !have.RST || w.PSH && !have.PSH || w.ACK && !have.ACK
                || w.URG && !have.URG || w.ECE && !have.ECE || w.CWR && !have.CWR || w.NS && !have.NS) continue;
            return true;
        }
        return false;
    };

    private static Regex[] Regexes(IEnumerable<string> patterns, string field) => patterns.Select(p =>
    {
        try { return new Regex(p, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100)); }
        catch (ArgumentException e) { throw new FlowFilterException(field, $"{field}: '{p}' is not a regular expression: {e.Message}"); }
    }).ToArray();

    private static bool AnyMatch(Regex r, IEnumerable<string> names)
    {
        foreach (var n in names) if (r.IsMatch(n)) return true;
        return false;
    }
}
