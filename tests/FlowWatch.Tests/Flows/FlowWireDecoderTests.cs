using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Tests.Support;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Xunit.Abstractions;
using PbFlow = FlowWatch.Hubble.Proto.Flow.Flow;
using PbVerdict = FlowWatch.Hubble.Proto.Flow.Verdict;

// Cilium agents still fill the deprecated reply, drop_reason and summary fields beside their successors; the
// traffic built here does the same on purpose, so the decoder meets what real streams carry.
#pragma warning disable CS0612

namespace FlowWatch.Tests.Flows;

/// <summary>The hand-written wire decoder must agree with the generated parser plus FlowConverter, field by field.</summary>
public sealed class FlowWireDecoderTests(ITestOutputHelper output)
{
    private static readonly JsonParser Json = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    internal static void AssertSame(FlowRecord expected, FlowRecord actual, string where)
    {
        void Eq<T>(T e, T a, string field)
        {
            if (!EqualityComparer<T>.Default.Equals(e, a))
                Assert.Fail($"{where}: {field} differs: generated+converter '{e}', wire decoder '{a}'");
        }
        Eq(expected.TimeNanos, actual.TimeNanos, "time");
        Eq(expected.Uuid, actual.Uuid, "uuid");
        Eq(expected.NodeName, actual.NodeName, "node_name");
        Eq(expected.Verdict, actual.Verdict, "verdict");
        Eq(expected.DropReason, actual.DropReason, "drop_reason");
        Eq(expected.Kind, actual.Kind, "Type");
        Eq(expected.EventType, actual.EventType, "event_type.type");
        Eq(expected.EventSubType, actual.EventSubType, "event_type.sub_type");
        Eq(expected.SourceIp, actual.SourceIp, "IP.source");
        Eq(expected.DestinationIp, actual.DestinationIp, "IP.destination");
        Eq(expected.Protocol, actual.Protocol, "l4");
        Eq(expected.SourcePort, actual.SourcePort, "source_port");
        Eq(expected.DestinationPort, actual.DestinationPort, "destination_port");
        Eq(expected.TcpFlags, actual.TcpFlags, "flags");
        Eq(expected.IcmpType, actual.IcmpType, "icmp type");
        Eq(expected.IcmpCode, actual.IcmpCode, "icmp code");
        Eq(expected.Source, actual.Source, "source");
        Eq(expected.Destination, actual.Destination, "destination");
        Eq(expected.SourceService, actual.SourceService, "source_service");
        Eq(expected.DestinationService, actual.DestinationService, "destination_service");
        Eq(expected.Reply, actual.Reply, "is_reply/reply");
        Eq(expected.Direction, actual.Direction, "traffic_direction");
        Eq(expected.ObservationPoint, actual.ObservationPoint, "trace_observation_point");
        Eq(expected.L7 is null, actual.L7 is null, "l7 present");
        if (expected.L7 is { } e7 && actual.L7 is { } a7)
        {
            Eq(e7.Kind, a7.Kind, "l7.type");
            Eq(e7.LatencyNanos, a7.LatencyNanos, "l7.latency_ns");
            Eq(e7.Dns, a7.Dns, "l7.dns");
            Eq(e7.Http, a7.Http, "l7.http");
        }
    }

    private static void CheckOne(byte[] bytes, FlowConverter converter, FlowWireDecoder decoder, string where)
    {
        var generated = GetFlowsResponse.Parser.ParseFrom(bytes);
        var decoded = decoder.Decode(bytes, "fallback");
        if (generated.ResponseTypesCase != GetFlowsResponse.ResponseTypesOneofCase.Flow)
        {
            Assert.NotEqual(ResponseKind.Flow, decoded.Kind);
            return;
        }
        Assert.Equal(ResponseKind.Flow, decoded.Kind);
        var expected = converter.Convert(generated.Flow, generated.NodeName.Length != 0 ? generated.NodeName : "fallback");
        AssertSame(expected, decoded.Flow!, where);
    }

    [SkippableFact]
    public void AgreesWithGeneratedParser_OnEveryCorpusLine()
    {
        TestPaths.RequireCorpus();
        var converter = new FlowConverter();
        var decoder = new FlowWireDecoder();
        var n = 0;
        foreach (var file in TestPaths.CorpusFiles)
        {
            var lineNo = 0;
            foreach (var line in File.ReadLines(file))
            {
                lineNo++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                var response = Json.Parse<GetFlowsResponse>(line);
                CheckOne(response.ToByteArray(), converter, decoder, $"{Path.GetFileName(file)}:{lineNo}");
                n++;
            }
        }
        output.WriteLine($"{n} corpus lines agree field by field");
        Assert.True(n >= 1900);
    }

    [Fact]
    public void AgreesWithGeneratedParser_OnRandomMessages()
    {
        var random = new Random(20261125);
        var converter = new FlowConverter();
        var decoder = new FlowWireDecoder();
        for (var i = 0; i < 5000; i++)
        {
            var bytes = RandomResponse(random).ToByteArray();
            CheckOne(bytes, converter, decoder, $"random #{i}");
        }
    }

    [Fact]
    public void MutatedBytes_EitherRejectedWithFormatExceptionOrAgree()
    {
        var random = new Random(7);
        var converter = new FlowConverter();
        var decoder = new FlowWireDecoder();
        int rejected = 0, agreed = 0, generatedThrewOther = 0;
        for (var i = 0; i < 20000; i++)
        {
            var bytes = RandomResponse(random).ToByteArray();
            for (var m = random.Next(1, 4); m > 0 && bytes.Length > 0; m--)
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            if (random.Next(4) == 0 && bytes.Length > 1) bytes = bytes[..random.Next(bytes.Length)];

            GetFlowsResponse? generated = null;
            // Google.Protobuf 3.36 throws InvalidOperationException, not only InvalidProtocolBufferException,
            // on some truncated wrappers: the generated parser is not the one to trust with hostile bytes.
            try { generated = GetFlowsResponse.Parser.ParseFrom(bytes); } catch (Exception e) when (e is InvalidProtocolBufferException or InvalidOperationException) { generatedThrewOther += e is InvalidOperationException ? 1 : 0; }
            DecodedResponse? decoded = null;
            try { decoded = decoder.Decode(bytes, "fallback"); } catch (FormatException) { rejected++; }
            if (generated is null || decoded is null) continue;
            if (generated.ResponseTypesCase != GetFlowsResponse.ResponseTypesOneofCase.Flow || HasRepeatedSingularFields(bytes)) continue;
            var expected = converter.Convert(generated.Flow, generated.NodeName.Length != 0 ? generated.NodeName : "fallback");
            // Bytes that are not valid UTF-8 decode to replacement characters on both sides, so names still agree.
            AssertSame(expected, decoded.Value.Flow!, $"mutation #{i}");
            agreed++;
        }
        output.WriteLine($"mutated messages: {rejected} rejected, {agreed} decoded and agreed; generated parser threw InvalidOperationException {generatedThrewOther} times");
        Assert.True(agreed > 1000);
    }

    // Protobuf merges a singular message field that appears twice; the wire decoder keeps the last.
    // Encoders never write that, but a mutation can; such messages are left out of the comparison.
    private static bool HasRepeatedSingularFields(byte[] bytes)
    {
        try
        {
            var seen = new HashSet<int>();
            var input = new CodedInputStream(bytes);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (tag >> 3 == 1 && (tag & 7) == 2)
                {
                    var flow = input.ReadBytes();
                    var inner = new CodedInputStream(flow.ToByteArray());
                    uint t;
                    while ((t = inner.ReadTag()) != 0)
                    {
                        if ((t & 7) == 2 && (t >> 3) is not (4 or 13 or 14) && !seen.Add((int)(t >> 3))) return true;
                        inner.SkipLastField();
                    }
                }
                else input.SkipLastField();
            }
            return false;
        }
        catch (InvalidProtocolBufferException) { return true; }
    }

    // From the seeded Random, so that a fuzz seed replays the same inputs.
    private static string RandomGuid(Random r)
    {
        var bytes = new byte[16];
        r.NextBytes(bytes);
        return new Guid(bytes).ToString();
    }

    internal static GetFlowsResponse RandomResponse(Random r)
    {
        string Pick(params string[] options) => options[r.Next(options.Length)];
        var flow = new PbFlow
        {
            Time = new Timestamp { Seconds = r.NextInt64(0, 4_000_000_000), Nanos = r.Next(0, 999_999_999) },
            Uuid = r.Next(3) == 0 ? "" : RandomGuid(r),
            Verdict = (PbVerdict)r.Next(0, 9),
            DropReasonDesc = r.Next(3) == 0 ? (DropReason)Pick("133", "181", "132", "0", "250").Length : (DropReason)r.Next(0, 260),
            DropReason = (uint)r.Next(0, 200),
            Type = (FlowType)r.Next(0, 4),
            NodeName = Pick("", "node-a", "kind-kind/kind-worker"),
            TrafficDirection = (FlowWatch.Hubble.Proto.Flow.TrafficDirection)r.Next(0, 3),
            TraceObservationPoint = (TraceObservationPoint)Pick("0", "1", "5", "10", "101", "11").Length,
            Reply = r.Next(2) == 0,
        };
        flow.TraceObservationPoint = (TraceObservationPoint)new[] { 0, 1, 3, 5, 10, 11, 101 }[r.Next(7)];
        if (r.Next(4) != 0)
            flow.IP = new IP
            {
                Source = Pick("10.1.2.3", "172.31.200.9", "fe80::1", "2001:db8::7", "", "not-an-ip", "300.1.1.1"),
                Destination = Pick("10.1.3.77", "8.8.8.8", "::1", ""),
                IpVersion = IPVersion.Ipv4,
            };
        if (r.Next(5) != 0)
        {
            flow.L4 = new Layer4();
            switch (r.Next(5))
            {
                case 0:
                    flow.L4.TCP = new TCP
                    {
                        SourcePort = (uint)r.Next(0, 65536), DestinationPort = (uint)r.Next(0, 65536),
                        Flags = r.Next(4) == 0 ? null : new TCPFlags { SYN = r.Next(2) == 0, ACK = r.Next(2) == 0, RST = r.Next(5) == 0, FIN = r.Next(5) == 0, PSH = r.Next(3) == 0, NS = r.Next(9) == 0 },
                    };
                    break;
                case 1: flow.L4.UDP = new UDP { SourcePort = (uint)r.Next(0, 65536), DestinationPort = 53 }; break;
                case 2: flow.L4.ICMPv4 = new ICMPv4 { Type = (uint)r.Next(0, 256), Code = (uint)r.Next(0, 16) }; break;
                case 3: flow.L4.ICMPv6 = new ICMPv6 { Type = 133 }; break;
                default: flow.L4.SCTP = new SCTP { SourcePort = 1, DestinationPort = 2 }; break;
            }
        }
        Endpoint? RandomEndpoint()
        {
            if (r.Next(4) == 0) return null;
            var e = new Endpoint
            {
                ID = (uint)r.Next(0, 4000),
                Identity = (uint)Pick("0", "1", "22", "333", "4444").Length * (uint)r.Next(1, 3),
                Namespace = Pick("", "shop", "kube-system"),
                PodName = Pick("", "checkout-7d4d858f75-j76f7", "coredns-5d78c9869d-abcde", "web-0"),
                ClusterName = Pick("", "default"),
            };
            if (r.Next(2) == 0) e.Labels.Add(Pick("k8s:app=checkout", "k8s:k8s-app=kube-dns", "reserved:world"));
            if (r.Next(3) == 0) e.Workloads.Add(new Workload { Name = Pick("checkout", "coredns"), Kind = Pick("Deployment", "") });
            return e;
        }
        flow.Source = RandomEndpoint();
        flow.Destination = RandomEndpoint();
        if (r.Next(3) == 0) flow.IsReply = r.Next(2) == 0;
        if (r.Next(3) == 0) flow.EventType = new CiliumEventType { Type = Pick("1", "4", "129").Length == 3 ? 129 : r.Next(-2, 10), SubType = r.Next(0, 5) };
        if (r.Next(4) == 0) flow.SourceService = new Service { Name = Pick("", "kube-dns"), Namespace = "kube-system" };
        if (r.Next(4) == 0) flow.DestinationService = new Service { Name = Pick("storefront", ""), Namespace = "web" };
        if (r.Next(3) == 0)
        {
            flow.L7 = new Layer7 { Type = (L7FlowType)r.Next(0, 4), LatencyNs = (ulong)r.NextInt64(0, 10_000_000_000) };
            switch (r.Next(3))
            {
                case 0:
                    flow.L7.Dns = new DNS { Query = Pick("api.example.com.", "kube-dns.kube-system.svc.cluster.local."), Rcode = (uint)r.Next(0, 6) };
                    if (r.Next(2) == 0) flow.L7.Dns.Qtypes.Add(Pick("A", "AAAA"));
                    if (r.Next(2) == 0) flow.L7.Dns.Ips.Add("10.0.0.1");
                    break;
                case 1: flow.L7.Http = new HTTP { Code = (uint)r.Next(100, 600), Method = Pick("GET", "POST"), Url = "http://x/y?z=" + r.Next() }; break;
                default: flow.L7.Kafka = new Kafka { Topic = "t" }; break;
            }
        }
        flow.SourceNames.Add(Pick("a.example.", "b.example."));
        flow.Summary = "TCP Flags: SYN";
        var response = new GetFlowsResponse { NodeName = Pick("", "node-a", "node-b"), Time = flow.Time };
        switch (r.Next(10))
        {
            case 0: response.LostEvents = new LostEvent { Source = LostEventSource.HubbleRingBuffer, NumEventsLost = 3 }; break;
            case 1: response.NodeStatus = new FlowWatch.Hubble.Proto.Relay.NodeStatusEvent { Message = "x" }; break;
            default: response.Flow = flow; break;
        }
        return response;
    }
}
