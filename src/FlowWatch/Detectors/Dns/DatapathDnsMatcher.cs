using FlowWatch.Detectors.Common;
using FlowWatch.Flows;

namespace FlowWatch.Detectors.Dns;

/// <summary>Pairs DNS requests with their replies from L3/L4 flows alone, for pods whose DNS the proxy does not see.</summary>
/// <remarks>
/// <para>
/// Cilium's DNS proxy sees only pods selected by L7 DNS rules; every other pod's lookups are plain UDP/TCP port-53
/// packets. A request is counted where it leaves the client pod (FROM_ENDPOINT, forwarded, not a reply) and a reply
/// where it is delivered back (TO_ENDPOINT, source port 53): both on the client's node, so the same packet seen again on
/// the server's node (another tuple after DNAT, another observation point) is never counted twice. Requests that went to
/// the proxy (TO_PROXY) are left to the L7 records.
/// </para>
/// <para>
/// Matching is by 5-tuple; glibc sends A and AAAA from one socket, so a tuple counts requests and replies, and after
/// <c>timeout</c> without a further request the requests left unanswered are no-answers. A request on a tuple already
/// pending for a second or more is the client's retry, noted. A reply that overtakes its request (cross-node merging in
/// Relay reorders by a few hundred milliseconds) is kept for <see cref="EarlyReplyWindow"/> and matched when the request
/// arrives. NXDOMAIN is a reply like any other. Bounded: the tuple table and the early replies are LRUs, counted.
/// </para>
/// </remarks>
internal sealed class DatapathDnsMatcher(int capacity)
{
    public static readonly TimeSpan EarlyReplyWindow = TimeSpan.FromSeconds(1);
    private static readonly long RetryTicks = TimeSpan.FromSeconds(1).Ticks;

    private readonly BoundedLru<Tuple5, Pending> _pending = new(capacity);
    private readonly BoundedLru<Tuple5, (long Ticks, int Count)> _early = new(Math.Max(16, capacity / 10));

    /// <summary>Tuples awaiting replies.</summary>
    public int Count => _pending.Count;
    public long Evicted => _pending.Evicted + _early.Evicted;

    private readonly record struct Tuple5(IpAddr Client, IpAddr Server, ushort ClientPort, L4Protocol Protocol);

    private sealed class Pending(FlowEndpoint client, string node, long first)
    {
        public FlowEndpoint Client = client;
        public string Node = node;
        public long First = first;
        public long Last = first;
        public int Requests;
        public int Replies;
        public bool Retried;
    }

    /// <summary>Feeds one L3/L4 flow; returns true when it was a port-53 request or reply this matcher counts.</summary>
    public bool Observe(FlowRecord f, long nowTicks)
    {
        if (f.Kind == FlowKind.L7 || f.Verdict != Verdict.Forwarded || f.Protocol is not (L4Protocol.Udp or L4Protocol.Tcp)) return false;
        if (f.DestinationPort == 53 && !f.IsReply && f.ObservationPoint == ObservationPoint.FromEndpoint && f.Source.IsPod)
        {
            if (f.Protocol == L4Protocol.Tcp && (f.TcpFlags & TcpFlags.Psh) == 0) return false; // only segments carrying a query
            var key = new Tuple5(f.SourceIp, f.DestinationIp, f.SourcePort, f.Protocol);
            if (!_pending.TryGet(key, out var p))
            {
                p = new Pending(f.Source, f.NodeName, nowTicks);
                _pending.Set(key, p);
                if (_early.TryGet(key, out var early) && nowTicks - early.Ticks <= EarlyReplyWindow.Ticks)
                {
                    p.Replies += early.Count;
                    _early.Remove(key);
                }
            }
            else if (nowTicks - p.Last >= RetryTicks) p.Retried = true;
            p.Requests++;
            p.Last = nowTicks;
            return true;
        }
        if (f.SourcePort == 53 && f.ObservationPoint == ObservationPoint.ToEndpoint && f.Destination.IsPod)
        {
            if (f.Protocol == L4Protocol.Tcp && (f.TcpFlags & TcpFlags.Psh) == 0) return false;
            var key = new Tuple5(f.DestinationIp, f.SourceIp, f.DestinationPort, f.Protocol);
            if (_pending.TryPeek(key, out var p)) p.Replies++;
            else _early.Set(key, (nowTicks, _early.TryPeek(key, out var e) ? e.Count + 1 : 1));
            return true;
        }
        return false;
    }

    /// <summary>Ends tuples whose last request is older than <paramref name="beforeTicks"/>: each unanswered request is a no-answer.</summary>
    public void Expire(long beforeTicks, Action<FlowEndpoint, string, int, bool> onNoAnswer)
    {
        List<Tuple5>? done = null;
        foreach (var (key, p) in _pending.Entries)
        {
            if (p.Last >= beforeTicks) continue;
            (done ??= []).Add(key);
            var unanswered = p.Requests - p.Replies;
            if (unanswered > 0) onNoAnswer(p.Client, p.Node, unanswered, p.Retried);
        }
        if (done is not null) foreach (var k in done) _pending.Remove(k);
    }
}
