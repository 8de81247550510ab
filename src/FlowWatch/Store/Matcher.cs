using FlowWatch.Flows;

namespace FlowWatch.Store;

/// <summary>A <see cref="FlowQuery"/> resolved to interned ids: block tests on the filter, int compares on entries.</summary>
internal sealed class Matcher
{
    private const int Any = -2;

    private int _namespace = Any, _pod = Any, _workload = Any, _node = Any;
    private IpAddr? _ip;
    private int _port = -1, _reason = -1, _verdict = -1;
    private long _since = long.MinValue, _until = long.MaxValue;
    private readonly List<ulong> _keys = [];

    /// <summary>A name in the query the store has never seen: nothing can match.</summary>
    public bool MatchesNothing { get; private set; }

    private bool HasEndpointFilter => _namespace != Any || _pod != Any || _workload != Any;

    public static Matcher Resolve(FlowQuery q, StringTable strings)
    {
        var m = new Matcher();
        var ns = q.Namespace;
        var pod = q.Pod;
        if (pod is not null && pod.IndexOf('/') is var slash and > 0)
        {
            ns = pod[..slash];
            pod = pod[(slash + 1)..];
        }
        m._namespace = m.Name(ns, strings, BlockKeys.Namespace);
        m._pod = m.Name(pod, strings, BlockKeys.Pod);
        m._workload = m.Name(q.Workload, strings, BlockKeys.Workload);
        m._node = m.Name(q.Node, strings, BlockKeys.Node);
        if (q.Ip is { } ip) { m._ip = ip; m._keys.Add(BlockKeys.Ip(ip)); }
        if (q.Port is { } port) { m._port = port; m._keys.Add(BlockKeys.Port(port)); }
        if (q.DropReason is { } reason) { m._reason = reason; m._keys.Add(BlockKeys.Reason(reason)); }
        if (q.Verdict is { } verdict) { m._verdict = (int)verdict; m._keys.Add(BlockKeys.Verdict((int)verdict)); }
        if (q.SinceNanos is { } since) m._since = since;
        if (q.UntilNanos is { } until) m._until = until;
        if (m._since > m._until) m.MatchesNothing = true;
        return m;
    }

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
        if (_ip is { } ip && e.SourceIp != ip && e.DestinationIp != ip) return false;
        if (HasEndpointFilter && !EndpointMatches(endpoints[e.SourceEndpoint]) && !EndpointMatches(endpoints[e.DestinationEndpoint])) return false;
        return true;
    }

    private bool EndpointMatches(EndpointEntry en) =>
        (_namespace == Any || en.Namespace == _namespace) &&
        (_pod == Any || en.Pod == _pod) &&
        (_workload == Any || en.Workload == _workload);
}
