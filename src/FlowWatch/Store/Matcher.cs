using FlowWatch.Flows;
using FlowWatch.Hubble.Filtering;

namespace FlowWatch.Store;

/// <summary>A <see cref="FlowQuery"/> resolved to interned ids: block tests on the filter, int compares on entries.</summary>
internal sealed class Matcher
{
    private const int Any = -2;

    private int _namespace = Any, _workload = Any, _node = Any, _fromNamespace = Any, _toNamespace = Any;
    private HashSet<int>? _pod, _fromPod, _toPod;
    private IpAddr? _ip;
    private IpPrefix? _ipBlock, _fromIp, _toIp;
    private int _port = -1, _fromPort = -1, _toPort = -1, _reason = -1, _verdict = -1, _eventType = -1, _eventSubType = -1;
    private long _identity = -1, _fromIdentity = -1, _toIdentity = -1;
    private bool[]? _label, _fromLabel, _toLabel;
    private L4Protocol? _l4;
    private L7Protocol? _l7;
    private bool _icmp;
    private long _since = long.MinValue, _until = long.MaxValue;
    private readonly List<ulong> _keys = [];

    /// <summary>A name in the query the store has never seen: nothing can match.</summary>
    public bool MatchesNothing { get; private set; }

    private bool HasEndpointFilter => _namespace != Any || _pod is not null || _workload != Any || _label is not null;

    /// <exception cref="FlowFilterException">A label selector that does not parse.</exception>
    public static Matcher Resolve(FlowQuery q, StringTable strings, LabelSetTable labelSets)
    {
        var m = new Matcher();
        var (ns, pod) = SplitPod(q.Pod, q.Namespace);
        m._namespace = m.Name(ns, strings, BlockKeys.Namespace);
        m._pod = m.Prefixed(pod, strings);
        var (fromNs, fromPod) = SplitPod(q.FromPod, q.FromNamespace);
        m._fromNamespace = m.Name(fromNs, strings, BlockKeys.Namespace);
        m._fromPod = m.Prefixed(fromPod, strings);
        var (toNs, toPod) = SplitPod(q.ToPod, q.ToNamespace);
        m._toNamespace = m.Name(toNs, strings, BlockKeys.Namespace);
        m._toPod = m.Prefixed(toPod, strings);
        m._label = m.Selected(q.Label, "label", labelSets);
        m._fromLabel = m.Selected(q.FromLabel, "from_label", labelSets);
        m._toLabel = m.Selected(q.ToLabel, "to_label", labelSets);
        m._ipBlock = q.IpBlock;
        m._fromIp = q.FromIp;
        m._toIp = q.ToIp;
        if (q.FromPort is { } fp) { m._fromPort = fp; m._keys.Add(BlockKeys.Port(fp)); }
        if (q.ToPort is { } tp) { m._toPort = tp; m._keys.Add(BlockKeys.Port(tp)); }
        switch (q.Protocol)
        {
            case null: break;
            case "tcp": m._l4 = L4Protocol.Tcp; break;
            case "udp": m._l4 = L4Protocol.Udp; break;
            case "sctp": m._l4 = L4Protocol.Sctp; break;
            case "icmpv4": m._l4 = L4Protocol.Icmpv4; break;
            case "icmpv6": m._l4 = L4Protocol.Icmpv6; break;
            case "icmp": m._icmp = true; break;
            case "dns": m._l7 = L7Protocol.Dns; break;
            case "http": m._l7 = L7Protocol.Http; break;
            default: throw new ArgumentException($"unknown protocol '{q.Protocol}'", nameof(q));
        }
        m._workload = m.Name(q.Workload, strings, BlockKeys.Workload);
        m._node = m.Name(q.Node, strings, BlockKeys.Node);
        if (q.Ip is { } ip) { m._ip = ip; m._keys.Add(BlockKeys.Ip(ip)); }
        if (q.Port is { } port) { m._port = port; m._keys.Add(BlockKeys.Port(port)); }
        if (q.DropReason is { } reason) { m._reason = reason; m._keys.Add(BlockKeys.Reason(reason)); }
        if (q.Verdict is { } verdict) { m._verdict = (int)verdict; m._keys.Add(BlockKeys.Verdict((int)verdict)); }
        if (q.Identity is { } identity) m._identity = identity;
        if (q.FromIdentity is { } fromIdentity) m._fromIdentity = fromIdentity;
        if (q.ToIdentity is { } toIdentity) m._toIdentity = toIdentity;
        if (q.EventType is { } type) m._eventType = type;
        if (q.EventSubType is { } subType) m._eventSubType = subType;
        if (q.SinceNanos is { } since) m._since = since;
        if (q.UntilNanos is { } until) m._until = until;
        if (m._since > m._until) m.MatchesNothing = true;
        return m;
    }

    // Hubble's "ns/prefix" (an empty prefix is every pod of ns); without '/', the prefix in the given namespace or any.
    private static (string? Ns, string? Prefix) SplitPod(string? pod, string? ns)
    {
        if (pod is null) return (ns, null);
        var slash = pod.IndexOf('/');
        if (slash < 0) return (ns, pod);
        var prefix = pod[(slash + 1)..];
        return (pod[..slash], prefix.Length == 0 ? null : prefix);
    }

    // A pod prefix resolved once to the ids of every interned name it starts (one pass over the names, far cheaper
    // than comparing text per entry); none at all means nothing can match, without a scan.
    private HashSet<int>? Prefixed(string? prefix, StringTable strings)
    {
        if (prefix is null) return null;
        var ids = new HashSet<int>();
        for (var id = StringTable.Overflow + 1; id < strings.Count; id++)
            if (strings[id].StartsWith(prefix, StringComparison.Ordinal)) ids.Add(id);
        if (ids.Count == 0) MatchesNothing = true;
        return ids;
    }

    // A selector resolved once over the store's label sets (about one per identity) to the ids it selects, so an entry
    // costs one array read. The empty set is judged too ("!app" selects endpoints without labels, as in Hubble); the
    // overflow id is never selected. A set interned after this point (a flow newer than the query) is not selected.
    private bool[]? Selected(string? selector, string field, LabelSetTable labelSets)
    {
        if (selector is null) return null;
        var parsed = LabelSelector.Parse(selector, field);
        var count = labelSets.Count;
        var ids = new bool[count];
        var any = false;
        for (var id = 0; id < count; id++)
            if (id != LabelSetTable.Overflow && parsed.Matches(labelSets[id].Labels)) any = ids[id] = true;
        if (!any) MatchesNothing = true;
        return ids;
    }

    private static bool Has(bool[]? ids, int id) => ids is null || ((uint)id < (uint)ids.Length && ids[id]);

    private int Name(string? value, StringTable strings, Func<int, ulong> key)
    {
        if (value is null) return Any;
        var id = strings.Find(value);
        if (id < 0) { MatchesNothing = true; return id; }
        _keys.Add(key(id));
        return id;
    }

    /// <summary>False when the block's time span or key filter proves no entry in it can match.</summary>
    public bool MayMatch(FlowBlock block)
    {
        if (!block.Overlaps(_since, _until)) return false;
        foreach (var key in _keys)
            if (!block.MayContain(key)) return false;
        return true;
    }

    public bool Matches(in CompactFlow e, EndpointTable endpoints)
    {
        if (e.TimeNanos < _since || e.TimeNanos > _until) return false;
        if (_verdict >= 0 && (int)e.Verdict != _verdict) return false;
        if (_reason >= 0 && e.DropReason != _reason) return false;
        if (_node != Any && e.Node != _node) return false;
        if (_port >= 0 && e.SourcePort != _port && e.DestinationPort != _port) return false;
        if (_fromPort >= 0 && e.SourcePort != _fromPort) return false;
        if (_toPort >= 0 && e.DestinationPort != _toPort) return false;
        if (_ip is { } ip && e.SourceIp != ip && e.DestinationIp != ip) return false;
        if (_ipBlock is { } block && !block.Contains(e.SourceIp) && !block.Contains(e.DestinationIp)) return false;
        if (_fromIp is { } from && !from.Contains(e.SourceIp)) return false;
        if (_toIp is { } to && !to.Contains(e.DestinationIp)) return false;
        if (_l4 is { } l4 && e.Protocol != l4) return false;
        if (_icmp && e.Protocol is not (L4Protocol.Icmpv4 or L4Protocol.Icmpv6)) return false;
        if (_l7 is { } l7 && (L7Protocol)(e.L7 >> 4) != l7) return false;
        if (_eventType >= 0 && (e.EventType != _eventType || (_eventSubType >= 0 && e.EventSubType != _eventSubType))) return false;
        if (_identity >= 0 && endpoints[e.SourceEndpoint].Identity != _identity && endpoints[e.DestinationEndpoint].Identity != _identity) return false;
        if (_fromIdentity >= 0 && endpoints[e.SourceEndpoint].Identity != _fromIdentity) return false;
        if (_toIdentity >= 0 && endpoints[e.DestinationEndpoint].Identity != _toIdentity) return false;
        if (HasEndpointFilter && !EndpointMatches(endpoints[e.SourceEndpoint]) && !EndpointMatches(endpoints[e.DestinationEndpoint])) return false;
        if ((_fromNamespace != Any || _fromPod is not null || _fromLabel is not null) && !SideMatches(endpoints[e.SourceEndpoint], _fromNamespace, _fromPod, _fromLabel)) return false;
        if ((_toNamespace != Any || _toPod is not null || _toLabel is not null) && !SideMatches(endpoints[e.DestinationEndpoint], _toNamespace, _toPod, _toLabel)) return false;
        return true;
    }

    private bool EndpointMatches(EndpointEntry en) =>
        SideMatches(en, _namespace, _pod, _label) && (_workload == Any || en.Workload == _workload);

    // Hubble never matches a pod filter on an endpoint without a namespace and pod (world, host).
    private static bool SideMatches(EndpointEntry en, int ns, HashSet<int>? pods, bool[]? labels) =>
        (ns == Any || en.Namespace == ns) && (pods is null || pods.Contains(en.Pod)) && Has(labels, en.Labels);
}
