using System.Globalization;
using FlowWatch.Flows;
using FlowWatch.Hubble.Filtering;
using FlowWatch.Store;

namespace FlowWatch.Api;

/// <summary>A query parameter that is missing the mark: which one, and what is wrong with it.</summary>
public sealed class BadParameterException(string parameter, string message) : Exception(message)
{
    public string Parameter { get; } = parameter;
}

/// <summary>Parses <c>/api/v1/flows</c> query parameters into a <see cref="FlowQuery"/>, naming any bad one.</summary>
public static class QueryParameters
{
    public static readonly IReadOnlyList<string> FlowParameters =
        ["namespace", "pod", "workload", "from_namespace", "to_namespace", "from_pod", "to_pod", "ip", "from_ip", "to_ip",
         "port", "from_port", "to_port", "protocol", "verdict", "reason", "node", "since", "until", "limit", "cursor", "after", "format",
         "identity", "from_identity", "to_identity", "type", "label", "from_label", "to_label"];

    /// <summary>Hubble's protocol filter values (pkg/hubble/filters/protocol.go) that the store can tell apart.</summary>
    public static readonly IReadOnlyList<string> Protocols = ["tcp", "udp", "sctp", "icmp", "icmpv4", "icmpv6", "dns", "http"];

    public const int DefaultLimit = 100;

    /// <param name="get">The parameter's value, or null when absent.</param>
    /// <param name="names">Every parameter name in the request, to reject unknown ones (typos).</param>
    public static FlowQuery ParseFlows(Func<string, string?> get, IEnumerable<string> names, DateTimeOffset now)
    {
        RejectUnknown(names, FlowParameters);
        var q = new FlowQuery
        {
            Namespace = NonEmpty(get, "namespace"),
            Pod = NonEmpty(get, "pod"),
            Workload = NonEmpty(get, "workload"),
            FromNamespace = NonEmpty(get, "from_namespace"),
            ToNamespace = NonEmpty(get, "to_namespace"),
            FromPod = NonEmpty(get, "from_pod"),
            ToPod = NonEmpty(get, "to_pod"),
            Node = NonEmpty(get, "node"),
            Label = Selector(get, "label"),
            FromLabel = Selector(get, "from_label"),
            ToLabel = Selector(get, "to_label"),
            Limit = Int(get, "limit", 1, FlowQuery.MaxLimit) ?? DefaultLimit,
        };
        if (get("ip") is { } ip)
            q = ip.Contains('/')
                ? q with { IpBlock = Block(ip, "ip") }
                : q with { Ip = IpAddr.TryParse(ip, out var addr) ? addr : throw Bad("ip", $"'{ip}' is not an IPv4 or IPv6 address or a CIDR block") };
        if (get("from_ip") is { } fromIp) q = q with { FromIp = Block(fromIp, "from_ip") };
        if (get("to_ip") is { } toIp) q = q with { ToIp = Block(toIp, "to_ip") };
        q = q with { Port = Int(get, "port", 0, 65535), FromPort = Int(get, "from_port", 0, 65535), ToPort = Int(get, "to_port", 0, 65535) };
        if (get("protocol") is { } protocol)
            q = q with { Protocol = Protocols.Contains(protocol.ToLowerInvariant()) ? protocol.ToLowerInvariant()
                : throw Bad("protocol", $"'{protocol}' is not a protocol; use one of {string.Join(", ", Protocols)}") };
        q = q with { Identity = Identity(get, "identity"), FromIdentity = Identity(get, "from_identity"), ToIdentity = Identity(get, "to_identity") };
        if (get("type") is { } type)
        {
            var (t, sub) = EventTypes.Parse(type) ?? throw Bad("type", $"'{type}' is not an event type; use {EventTypes.Help}");
            q = q with { EventType = t, EventSubType = sub };
        }
        if (get("verdict") is { } verdict)
            q = q with { Verdict = ParseVerdict(verdict) };
        if (get("reason") is { } reason)
            q = q with { DropReason = DropReasons.TryParse(reason, out var code) && code > 0 ? code : throw Bad("reason", $"'{reason}' is not a Cilium drop reason (a name such as POLICY_DENIED or its number)") };
        var since = Time(get, "since", now);
        var until = Time(get, "until", now);
        if (since is { } s && until is { } u && s > u) throw Bad("since", "since is later than until");
        q = q with { SinceNanos = since is { } a ? FlowRecord.ToNanos(a) : null, UntilNanos = until is { } b ? FlowRecord.ToNanos(b) : null };
        var cursor = Long(get, "cursor", 0);
        var after = Long(get, "after", -1);
        if (cursor is not null && after is not null) throw Bad("cursor", "give cursor (page back) or after (follow), not both");
        return q with { Before = cursor, After = after };
    }

    /// <summary>format=jsonpb (GetFlowsResponse lines, as hubble observe -o jsonpb writes them; json is the same, as in hubble v0.12.3); absent: the API's JSON object.</summary>
    public static FlowAnswerFormat ParseFormat(Func<string, string?> get) => get("format") switch
    {
        null or "api" => FlowAnswerFormat.Api,
        "jsonpb" or "json" => FlowAnswerFormat.Jsonpb,
        var other => throw Bad("format", $"'{other}' is not a format; use jsonpb (hubble observe -o jsonpb lines; json is an alias, as in hubble) or api (this API's JSON object, the default)"),
    };

    private static IpPrefix Block(string text, string name) =>
        IpPrefix.TryParse(text, out var p) ? p : throw Bad(name, $"'{text}' is not an IP address or CIDR block (10.0.0.0/8)");

    public static void RejectUnknown(IEnumerable<string> names, IReadOnlyList<string> known)
    {
        foreach (var name in names)
            if (!known.Contains(name))
                throw Bad(name, $"unknown parameter '{name}'; known: {string.Join(", ", known)}");
    }

    public static Verdict ParseVerdict(string text)
    {
        foreach (var v in Enum.GetValues<Verdict>())
            if (v != Verdict.Unknown && string.Equals(v.ToString(), text, StringComparison.OrdinalIgnoreCase)) return v;
        throw Bad("verdict", $"'{text}' is not a verdict; use one of forwarded, dropped, error, audit, redirected, traced, translated");
    }

    /// <summary>RFC 3339 ("2026-12-01T12:00:00Z") or an age before now ("90s", "5m", "2h", "1d").</summary>
    public static DateTimeOffset? Time(Func<string, string?> get, string name, DateTimeOffset now)
    {
        if (get(name) is not { } text) return null;
        if (Duration(text) is { } age) return now - age;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) && text.Contains('T'))
            return t;
        throw Bad(name, $"'{text}' is neither an RFC 3339 time (2026-12-01T12:00:00Z) nor an age such as 30s, 5m, 2h");
    }

    public static TimeSpan? Duration(string text)
    {
        (string suffix, double scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)];
        foreach (var (suffix, scale) in units)
            if (text.EndsWith(suffix, StringComparison.Ordinal) &&
                double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0 && n < 1e7)
                return TimeSpan.FromSeconds(n * scale);
        return null;
    }

    // Checked here so that a bad selector is a 400 naming the parameter; the store parses it again (cheap).
    private static string? Selector(Func<string, string?> get, string name)
    {
        if (NonEmpty(get, name) is not { } text) return null;
        try { LabelSelector.Parse(text, name); }
        catch (FlowFilterException e)
        {
            throw Bad(name, $"{e.Message.Replace(name + ": ", "", StringComparison.Ordinal)}; write a Kubernetes label selector such as k8s:app=web, app in (web,api), !k8s:app or reserved:world");
        }
        return text;
    }

    private static uint? Identity(Func<string, string?> get, string name)
    {
        if (get(name) is not { } text) return null;
        return uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v : throw Bad(name, $"'{text}' is not a Cilium security identity (a whole number, such as 2 for world)");
    }

    public static int? Int(Func<string, string?> get, string name, int min, int max)
    {
        if (get(name) is not { } text) return null;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw Bad(name, $"'{text}' is not a whole number from {min} to {max}");
        return v;
    }

    private static long? Long(Func<string, string?> get, string name, long min)
    {
        if (get(name) is not { } text) return null;
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min)
            throw Bad(name, $"'{text}' is not a flow id from a previous answer (a whole number of at least {min})");
        return v;
    }

    private static string? NonEmpty(Func<string, string?> get, string name) =>
        get(name) is { } v ? v.Length > 0 ? v : throw Bad(name, "is empty; leave it out to match everything") : null;

    private static BadParameterException Bad(string parameter, string message) =>
        new(parameter, message.StartsWith("is ", StringComparison.Ordinal) ? $"{parameter} {message}" : $"{parameter}: {message}");
}
