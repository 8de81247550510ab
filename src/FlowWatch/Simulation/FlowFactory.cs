using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using Google.Protobuf.WellKnownTypes;

namespace FlowWatch.Simulation;

/// <summary>Builds Hubble <see cref="Flow"/> messages shaped like the corpus, sharing every part that does not vary.</summary>
/// <remarks>
/// Endpoints, TCP flag sets, event types, services and L7 records are built once and shared between messages
/// (Google.Protobuf allows a sub-message in many parents); only what differs per packet (time, IPs, ports,
/// uuid) is allocated. Consumers must treat generated messages as read-only. Built flows go to
/// <see cref="Output"/> as (event time in ns, message); the caller commits or discards them per conversation.
/// </remarks>
internal sealed class FlowFactory(SimRandom rng)
{
    public static readonly TCPFlags Syn = new() { SYN = true };
    public static readonly TCPFlags SynAck = new() { SYN = true, ACK = true };
    public static readonly TCPFlags Ack = new() { ACK = true };
    public static readonly TCPFlags PshAck = new() { PSH = true, ACK = true };
    public static readonly TCPFlags FinAck = new() { FIN = true, ACK = true };
    public static readonly TCPFlags RstAck = new() { RST = true, ACK = true };

    private static readonly CiliumEventType L7Event = new() { Type = 129 };
    private static readonly CiliumEventType PolicyVerdictEvent = new() { Type = 5 };
    private static readonly Dictionary<int, CiliumEventType> TraceEvents = new();
    private static readonly Dictionary<int, CiliumEventType> DropEvents = new();
    private readonly Dictionary<(string, uint, string), DNS> _dns = new();
    private readonly Dictionary<(string, string, uint), HTTP> _http = new();
    private readonly Dictionary<SimWorkload, Service> _services = new();

    public List<(long Time, GetFlowsResponse Message)> Output { get; } = new(64);

    /// <summary>How much earlier than the observation it goes with an added one (<see cref="Shapes"/>) may be stamped.</summary>
    public const long ExtraLeadNanos = 50_000;

    /// <summary>The observations a Relay-shaped stream has beside each conversation's own; null for none.</summary>
    public TrafficShapes? Shapes { get; init; }

    /// <summary>Where the added observations draw their ids and offsets, so that adding them changes nothing else.</summary>
    public SimRandom? ShapeRandom { get; init; }

    /// <summary>Entries of <see cref="Output"/> that <see cref="Shapes"/> added (the caller resets it with the output).</summary>
    public int Extras { get; set; }

    static FlowFactory()
    {
        // Cilium's trace sub-type is the observation point, except TO_ENDPOINT (101 in the API) which is sub-type 0.
        foreach (var point in System.Enum.GetValues<TraceObservationPoint>())
            TraceEvents[(int)point] = new CiliumEventType { Type = 4, SubType = point == TraceObservationPoint.ToEndpoint ? 0 : (int)point };
    }

    private static CiliumEventType Drop(DropReason reason)
    {
        lock (DropEvents)
        {
            if (!DropEvents.TryGetValue((int)reason, out var e))
                DropEvents[(int)reason] = e = new CiliumEventType { Type = 1, SubType = (int)reason };
            return e;
        }
    }

    public Service? ServiceOf(SimWorkload workload)
    {
        if (workload.ServiceIp.IsNone) return null;
        if (!_services.TryGetValue(workload, out var s))
            _services[workload] = s = new Service { Name = workload.ServiceName, Namespace = workload.Namespace };
        return s;
    }

    public void Tcp(long time, SimNode node, SimEndpoint src, SimEndpoint dst, uint sport, uint dport, TCPFlags flags,
        TraceObservationPoint point, TrafficDirection direction, bool reply, Service? srcService = null, Service? dstService = null)
    {
        var flow = L34(src, dst, point, direction, reply, srcService, dstService);
        flow.L4 = new Layer4 { TCP = new TCP { SourcePort = sport, DestinationPort = dport, Flags = flags } };
        Add(time, node, flow);
        if (Shapes is not null) Shape(time, node, src, dst, point, flow, opening: ReferenceEquals(flags, Syn));
    }

    public void Udp(long time, SimNode node, SimEndpoint src, SimEndpoint dst, uint sport, uint dport,
        TraceObservationPoint point, TrafficDirection direction, bool reply, Service? srcService = null, Service? dstService = null)
    {
        var flow = L34(src, dst, point, direction, reply, srcService, dstService);
        flow.L4 = new Layer4 { UDP = new UDP { SourcePort = sport, DestinationPort = dport } };
        Add(time, node, flow);
        if (Shapes is not null) Shape(time, node, src, dst, point, flow, opening: false);
    }

    /// <summary>
    /// What a real stream has beside this observation: the policy verdict of a new connection to a pod, and, for a packet
    /// between pods on two nodes delivered here (TO_ENDPOINT), the same packet leaving the source's node (TO_STACK), each
    /// stamped a few microseconds before it.
    /// </summary>
    private void Shape(long time, SimNode node, SimEndpoint src, SimEndpoint dst, TraceObservationPoint point, Flow flow, bool opening)
    {
        var shapes = Shapes!;
        var rng = ShapeRandom!;
        if (point != TraceObservationPoint.ToEndpoint || dst.Pod is null) return;
        if (shapes.PolicyVerdicts && opening)
        {
            var verdict = flow.Clone();
            verdict.Uuid = rng.NextUuid();
            verdict.EventType = PolicyVerdictEvent;
            verdict.TraceObservationPoint = TraceObservationPoint.UnknownPoint;
            verdict.TrafficDirection = TrafficDirection.Ingress;
            verdict.PolicyMatchType = 2;
            AddExtra(time - rng.Next(5, 40) * 1_000L, node, verdict);
        }
        if (shapes.DoubleObservation && src.Pod is not null && src.Node is { } source && source != node)
        {
            var seen = flow.Clone();
            seen.Uuid = rng.NextUuid();
            seen.EventType = TraceEvents[(int)TraceObservationPoint.ToStack];
            seen.TraceObservationPoint = TraceObservationPoint.ToStack;
            AddExtra(time - rng.Next(5, 40) * 1_000L, source, seen);
        }
    }

    private void AddExtra(long time, SimNode node, Flow flow)
    {
        Extras++;
        Add(time, node, flow);
    }

    /// <summary>A datapath drop (event type 1): no observation point, the reason in drop_reason_desc and the sub-type.</summary>
    public void UdpDrop(long time, SimNode node, SimEndpoint src, SimEndpoint dst, uint sport, uint dport,
        DropReason reason, TrafficDirection direction, Service? dstService = null)
    {
        var flow = new Flow
        {
            Uuid = rng.NextUuid(),
            Verdict = Verdict.Dropped,
            #pragma warning disable CS0612 // Real agents still fill the deprecated field; older clients read it.
            DropReason = (uint)reason,
            #pragma warning restore CS0612
            DropReasonDesc = reason,
            IP = new IP { Source = src.Ip, Destination = dst.Ip, IpVersion = IPVersion.Ipv4 },
            L4 = new Layer4 { UDP = new UDP { SourcePort = sport, DestinationPort = dport } },
            Source = src.Proto,
            Destination = dst.Proto,
            Type = FlowType.L3L4,
            EventType = Drop(reason),
            TrafficDirection = direction,
            IsReply = false,
            DestinationService = dstService,
        };
        Add(time, node, flow);
    }

    public void Icmp(long time, SimNode node, SimEndpoint src, SimEndpoint dst, uint type,
        TraceObservationPoint point, TrafficDirection direction, bool reply)
    {
        var flow = L34(src, dst, point, direction, reply, null, null);
        flow.L4 = new Layer4 { ICMPv4 = new ICMPv4 { Type = type } };
        Add(time, node, flow);
    }

    /// <summary>The DNS proxy's record of a query or an answer (event type 129, observation source "proxy").</summary>
    public void Dns(long time, SimNode node, SimEndpoint src, SimEndpoint dst, uint sport, uint dport, bool response,
        DNS record, Verdict verdict, long latencyNs, Service? srcService = null, Service? dstService = null)
    {
        var flow = L7(src, dst, sport, dport, udp: true, verdict, TrafficDirection.Egress, response, srcService, dstService);
        flow.L7 = new Layer7 { Type = response ? L7FlowType.Response : L7FlowType.Request, LatencyNs = (ulong)latencyNs, Dns = record };
        Add(time, node, flow);
    }

    public void Http(long time, SimNode node, SimEndpoint src, SimEndpoint dst, uint sport, uint dport, bool response,
        HTTP record, long latencyNs, TrafficDirection direction, Service? srcService = null, Service? dstService = null)
    {
        var flow = L7(src, dst, sport, dport, udp: false, Verdict.Forwarded, direction, response, srcService, dstService);
        flow.L7 = new Layer7 { Type = response ? L7FlowType.Response : L7FlowType.Request, LatencyNs = (ulong)latencyNs, Http = record };
        Add(time, node, flow);
    }

    /// <summary>A DNS record: rcode 0 answers carry the address; requests (answer null) carry only the query.</summary>
    public DNS DnsRecord(string query, uint rcode, string? answer)
    {
        var key = (query, rcode, answer ?? "");
        if (_dns.TryGetValue(key, out var d)) return d;
        d = new DNS { Query = query, ObservationSource = "proxy", Rcode = rcode, Qtypes = { "A" } };
        if (answer is not null)
        {
            d.Ttl = 30;
            d.Rrtypes.Add("A");
            d.Ips.Add(answer);
        }
        _dns[key] = d;
        return d;
    }

    /// <summary>An HTTP record; code 0 is the request.</summary>
    public HTTP HttpRecord(string method, string url, uint code)
    {
        var key = (method, url, code);
        if (_http.TryGetValue(key, out var h)) return h;
        h = new HTTP { Method = method, Url = url, Protocol = "HTTP/1.1", Code = code };
        _http[key] = h;
        return h;
    }

    private Flow L34(SimEndpoint src, SimEndpoint dst, TraceObservationPoint point, TrafficDirection direction, bool reply,
        Service? srcService, Service? dstService) => new()
    {
        Uuid = rng.NextUuid(),
        Verdict = Verdict.Forwarded,
        IP = new IP { Source = src.Ip, Destination = dst.Ip, IpVersion = IPVersion.Ipv4 },
        Source = src.Proto,
        Destination = dst.Proto,
        Type = FlowType.L3L4,
        EventType = TraceEvents[(int)point],
        TrafficDirection = direction,
        TraceObservationPoint = point,
        IsReply = reply,
        #pragma warning disable CS0612 // Real agents still fill the deprecated field; older clients read it.
        Reply = reply,
        #pragma warning restore CS0612
        SourceService = srcService,
        DestinationService = dstService,
    };

    private Flow L7(SimEndpoint src, SimEndpoint dst, uint sport, uint dport, bool udp, Verdict verdict,
        TrafficDirection direction, bool reply, Service? srcService, Service? dstService) => new()
    {
        Uuid = rng.NextUuid(),
        Verdict = verdict,
        IP = new IP { Source = src.Ip, Destination = dst.Ip, IpVersion = IPVersion.Ipv4 },
        L4 = udp
            ? new Layer4 { UDP = new UDP { SourcePort = sport, DestinationPort = dport } }
            : new Layer4 { TCP = new TCP { SourcePort = sport, DestinationPort = dport } },
        Source = src.Proto,
        Destination = dst.Proto,
        Type = FlowType.L7,
        EventType = L7Event,
        TrafficDirection = direction,
        IsReply = reply,
        #pragma warning disable CS0612 // Real agents still fill the deprecated field; older clients read it.
        Reply = reply,
        #pragma warning restore CS0612
        SourceService = srcService,
        DestinationService = dstService,
    };

    // TCP and DNS summaries repeat: keyed on the shared flag set or record (and direction), built once. HTTP answers
    // carry their latency, so each has its own. Bounded, in case records stop being shared.
    private readonly Dictionary<(object, bool), string> _summaries = new();

    private string Summary(Flow flow)
    {
        object? key = flow.L7 is { } l7 ? l7.Dns : flow.L4?.TCP?.Flags;
        if (key is null) return flow.L4?.UDP is not null && flow.L7 is null ? "UDP" : FlowSummary.Of(flow);
        var k = (key, flow.L7?.Type == L7FlowType.Response);
        if (!_summaries.TryGetValue(k, out var text))
        {
            if (_summaries.Count >= 4096) _summaries.Clear();
            _summaries[k] = text = FlowSummary.Of(flow);
        }
        return text;
    }

    private void Add(long time, SimNode node, Flow flow)
    {
        var ts = new Timestamp { Seconds = Math.DivRem(time, 1_000_000_000L, out var nanos), Nanos = (int)nanos };
        flow.Time = ts;
        flow.NodeName = node.Name;
#pragma warning disable CS0612 // Real agents still fill the deprecated summary; hubble observe prints it.
        flow.Summary = Summary(flow);
#pragma warning restore CS0612
        Output.Add((time, new GetFlowsResponse { Flow = flow, NodeName = node.Name, Time = ts }));
    }
}
