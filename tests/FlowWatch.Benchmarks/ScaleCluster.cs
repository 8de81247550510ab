using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

// Cilium agents still fill the deprecated reply, drop_reason and summary fields beside their successors; the
// traffic built here does the same on purpose, so the decoder meets what real streams carry.
#pragma warning disable CS0612

namespace FlowWatch.Benchmarks;

/// <summary>
/// A synthetic cluster of 5,000 nodes, 10,000 services (10 pods each: 100,000 pods) and CoreDNS, with pod churn:
/// replaced pods come back under a new name, on a random node, with a new IP. Writes Hubble GetFlowsResponse bytes.
/// </summary>
/// <remarks>
/// Background traffic is healthy (complete handshakes, answered lookups); <see cref="DnsDropBurst"/> and
/// <see cref="DuplicateIp"/> add the two scenarios whose onset-to-finding time the scale test measures.
/// Protobuf parts that do not vary per packet (endpoints, services, DNS records) are built once per pod/service.
/// </remarks>
public sealed class ScaleCluster
{
    public const int Nodes = 5_000, Services = 10_000, PodsPerService = 10, Namespaces = 500;

    private readonly Random _rng = new(7);
    private readonly string[] _nodes = Enumerable.Range(0, Nodes).Select(i => $"scale-node-{i:D4}").ToArray();
    private readonly Pod[] _pods = new Pod[Services * PodsPerService];
    private readonly Service[] _services = new Service[Services];
    private readonly DNS[] _answers = new DNS[Services];
    private readonly DNS[] _questions = new DNS[Services];
    private readonly Pod[] _coreDns;
    private readonly Service _dnsService = new() { Namespace = "kube-system", Name = "kube-dns" };
    private static readonly TCPFlags Syn = new() { SYN = true }, SynAck = new() { SYN = true, ACK = true }, Ack = new() { ACK = true }, FinAck = new() { FIN = true, ACK = true };
    private static readonly CiliumEventType Trace = new() { Type = 4 }, L7Event = new() { Type = 129 }, DropEvent = new() { Type = 1, SubType = 133 };
    private uint _nextIp = 1;
    private long _generation;

    public ScaleCluster()
    {
        for (var s = 0; s < Services; s++)
        {
            _services[s] = new Service { Namespace = Ns(s), Name = $"svc-{s}" };
            var fqdn = $"svc-{s}.{Ns(s)}.svc.cluster.local.";
            _questions[s] = new DNS { Query = fqdn, ObservationSource = "proxy", Qtypes = { "A" } };
            _answers[s] = new DNS { Query = fqdn, ObservationSource = "proxy", Qtypes = { "A" }, Rrtypes = { "A" }, Ttl = 30, Ips = { $"172.20.{s / 256}.{s % 256}" } };
            for (var k = 0; k < PodsPerService; k++) _pods[s * PodsPerService + k] = NewPod(s);
        }
        _coreDns = Enumerable.Range(0, 20).Select(_ => NewPod(-1)).ToArray();
    }

    public long Replaced { get; private set; }
    public int PodCount => _pods.Length;

    private static string Ns(int s) => s < 0 ? "kube-system" : $"ns-{s % Namespaces:D3}";

    /// <summary>A pod of service <paramref name="s"/> (-1: CoreDNS) on a random node with a never-used IP.</summary>
    private Pod NewPod(int s)
    {
        var workload = s < 0 ? "coredns" : $"svc-{s}";
        var name = $"{workload}-{_generation++:x6}-{_rng.Next(0x10000):x4}";
        var ip = 0x0A000000u + _nextIp++;   // 10.0.0.0/8: new IPs for every replacement, never reused in a run
        var endpoint = new Endpoint
        {
            Identity = (uint)(100_000 + s), Namespace = Ns(s), PodName = name,
            Labels = { $"k8s:app={workload}", $"k8s:io.kubernetes.pod.namespace={Ns(s)}" },
            Workloads = { new Workload { Name = workload, Kind = "Deployment" } },
        };
        return new Pod(s, $"{ip >> 24}.{ip >> 16 & 255}.{ip >> 8 & 255}.{ip & 255}", endpoint, _nodes[_rng.Next(Nodes)]);
    }

    /// <summary>Replaces <paramref name="count"/> random pods: the churn of rollouts and rescheduling.</summary>
    public void Churn(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var slot = _rng.Next(_pods.Length);
            _pods[slot] = NewPod(_pods[slot].Service);
            Replaced++;
        }
    }

    /// <summary>A random conversation at <paramref name="t"/> (ns): a TCP call to a service backend (70%) or a DNS lookup.</summary>
    public void Conversation(long t, List<byte[]> into)
    {
        var client = _pods[_rng.Next(_pods.Length)];
        var s = _rng.Next(Services);
        if (_rng.Next(10) < 7) Call(t, client, _pods[s * PodsPerService + _rng.Next(PodsPerService)], _services[s], into);
        else Lookup(t, client, s, into);
    }

    private void Call(long t, Pod client, Pod server, Service service, List<byte[]> into)
    {
        var sport = (uint)_rng.Next(32768, 61000);
        into.Add(Tcp(t, client.Node, client, server, sport, 8080, Syn, false, TraceObservationPoint.ToStack, service));
        into.Add(Tcp(t + 200_000, server.Node, server, client, 8080, sport, SynAck, true, TraceObservationPoint.ToStack, null));
        into.Add(Tcp(t + 400_000, client.Node, client, server, sport, 8080, Ack, false, TraceObservationPoint.ToStack, service));
        into.Add(Tcp(t + 2_000_000, client.Node, client, server, sport, 8080, FinAck, false, TraceObservationPoint.ToStack, service));
    }

    private void Lookup(long t, Pod client, int s, List<byte[]> into)
    {
        var dns = _coreDns[_rng.Next(_coreDns.Length)];
        var sport = (uint)_rng.Next(32768, 61000);
        into.Add(Dns(t, client, dns, sport, false, _questions[s], Verdict.Forwarded));
        into.Add(Dns(t + 300_000, dns, client, sport, true, _answers[s], Verdict.Forwarded));
    }

    /// <summary>The DNS drop scenario: a pod of service <paramref name="s"/> whose lookups the datapath drops (an L3/L4 policy forgot kube-dns).</summary>
    public string DnsDropBurst(long t, int s, List<byte[]> into)
    {
        var client = _pods[s * PodsPerService + _rng.Next(PodsPerService)];
        var dns = _coreDns[_rng.Next(_coreDns.Length)];
        var flow = new Flow
        {
            Time = Ts(t), Uuid = Guid.NewGuid().ToString(), Verdict = Verdict.Dropped, DropReason = 133, DropReasonDesc = DropReason.PolicyDenied,
            IP = new IP { Source = client.Ip, Destination = dns.Ip, IpVersion = IPVersion.Ipv4 },
            L4 = new Layer4 { UDP = new UDP { SourcePort = (uint)_rng.Next(32768, 61000), DestinationPort = 53 } },
            Source = client.Endpoint, Destination = dns.Endpoint, Type = FlowType.L3L4, EventType = DropEvent,
            TrafficDirection = TrafficDirection.Egress, IsReply = false, DestinationService = _dnsService, NodeName = client.Node,
        };
        into.Add(Serialize(flow));
        return $"{Ns(s)}/svc-{s}";
    }

    /// <summary>The duplicate IP scenario: a new pod of another service is given a live pod's IP; both talk.</summary>
    public (Pod Original, Pod Impostor) DuplicateIp(int victimSlot, int otherService)
    {
        var original = _pods[victimSlot];
        var fresh = NewPod(otherService);
        return (original, fresh with { Ip = original.Ip });
    }

    /// <summary>One call from <paramref name="client"/> to a backend of service 0 (keeps a claimed IP in use).</summary>
    public void CallFrom(long t, Pod client, List<byte[]> into) => Call(t, client, _pods[_rng.Next(PodsPerService)], _services[0], into);

    private byte[] Tcp(long t, string node, Pod src, Pod dst, uint sport, uint dport, TCPFlags flags, bool reply, TraceObservationPoint point, Service? dstService)
    {
        var flow = new Flow
        {
            Time = Ts(t), Uuid = Guid.NewGuid().ToString(), Verdict = Verdict.Forwarded,
            IP = new IP { Source = src.Ip, Destination = dst.Ip, IpVersion = IPVersion.Ipv4 },
            L4 = new Layer4 { TCP = new TCP { SourcePort = sport, DestinationPort = dport, Flags = flags } },
            Source = src.Endpoint, Destination = dst.Endpoint, Type = FlowType.L3L4, EventType = Trace, NodeName = node,
            TrafficDirection = TrafficDirection.Egress, TraceObservationPoint = point, IsReply = reply, Reply = reply,
            DestinationService = dstService,
        };
        return Serialize(flow);
    }

    private byte[] Dns(long t, Pod src, Pod dst, uint clientPort, bool response, DNS record, Verdict verdict)
    {
        var flow = new Flow
        {
            Time = Ts(t), Uuid = Guid.NewGuid().ToString(), Verdict = verdict,
            IP = new IP { Source = src.Ip, Destination = dst.Ip, IpVersion = IPVersion.Ipv4 },
            L4 = new Layer4 { UDP = new UDP { SourcePort = response ? 53 : clientPort, DestinationPort = response ? clientPort : 53 } },
            Source = src.Endpoint, Destination = dst.Endpoint, Type = FlowType.L7, EventType = L7Event,
            NodeName = response ? dst.Node : src.Node, TrafficDirection = TrafficDirection.Egress, IsReply = response, Reply = response,
            L7 = new Layer7 { Type = response ? L7FlowType.Response : L7FlowType.Request, LatencyNs = response ? 300_000UL : 0, Dns = record },
            DestinationService = response ? null : _dnsService, SourceService = response ? _dnsService : null,
        };
        return Serialize(flow);
    }

    private static Timestamp Ts(long t) => new() { Seconds = t / 1_000_000_000, Nanos = (int)(t % 1_000_000_000) };

    private byte[] Serialize(Flow flow)
    {
        var response = new GetFlowsResponse { Flow = flow, NodeName = flow.NodeName, Time = flow.Time };
        return response.ToByteArray();
    }

    /// <summary>A pod: its service (-1 for CoreDNS), IP text, shared Hubble endpoint and node.</summary>
    public sealed record Pod(int Service, string Ip, Endpoint Endpoint, string Node);
}
