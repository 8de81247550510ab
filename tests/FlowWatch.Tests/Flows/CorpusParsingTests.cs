using FlowWatch.Flows;
using FlowWatch.Replay;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Flows;

public sealed class CorpusParsingTests(ITestOutputHelper output)
{
    private static List<FlowRecord> ReadAll(string name)
    {
        var reader = new FlowFileReader(new FlowConverter());
        var items = reader.Read(Path.Combine(TestPaths.Corpus!, name)).ToList();
        Assert.All(items, i => Assert.Null(i.Bad));
        return items.Where(i => i.Flow is not null).Select(i => i.Flow!).ToList();
    }

    [SkippableFact]
    public void EveryLineOfEveryCorpusFile_ParsesIntoARecord()
    {
        TestPaths.RequireCorpus();
        var reader = new FlowFileReader(new FlowConverter());
        var total = 0;
        foreach (var file in TestPaths.CorpusFiles)
        {
            var lines = File.ReadLines(file).Count(l => !string.IsNullOrWhiteSpace(l));
            var items = reader.Read(file).ToList();
            var bad = items.Where(i => i.Bad is not null).Select(i => i.Bad!).ToList();
            Assert.True(bad.Count == 0, $"{Path.GetFileName(file)}: {string.Join("; ", bad.Take(3))}");
            var flows = items.Count(i => i.Flow is not null);
            Assert.Equal(lines, flows);
            Assert.All(items.Where(i => i.Flow is not null), i => Assert.NotEqual(0, i.Flow!.TimeNanos));
            output.WriteLine($"{Path.GetFileName(file)}: {flows} flows");
            total += flows;
        }
        Assert.True(total >= 1900, $"expected the ~1,919 corpus flows, read {total}");
    }

    [SkippableFact]
    public void DroppedExport_FieldByField()
    {
        TestPaths.RequireCorpus();
        var flows = ReadAll("cilium-docs-exporter-dropped.jsonl");
        Assert.Equal(2, flows.Count);

        var v6 = flows[0];
        Assert.Equal(Verdict.Dropped, v6.Verdict);
        Assert.Equal("INVALID_SOURCE_IP", v6.DropReasonName);
        Assert.Equal(IpAddr.Parse("fe80::64d8:8aff:fe72:fc14"), v6.SourceIp);
        Assert.False(v6.SourceIp.IsV4);
        Assert.Equal(L4Protocol.Icmpv6, v6.Protocol);
        Assert.Equal(133, v6.IcmpType);
        Assert.Same(FlowEndpoint.Empty, v6.Source); // field-masked export: "source":{}

        var tcp = flows[1];
        Assert.Equal("POLICY_DENIED", tcp.DropReasonName);
        Assert.Equal(133, tcp.DropReason);
        Assert.Equal("10.244.1.60", tcp.SourceIp.ToString());
        Assert.Equal("10.244.1.5", tcp.DestinationIp.ToString());
        Assert.Equal(L4Protocol.Tcp, tcp.Protocol);
        Assert.Equal(44916, tcp.SourcePort);
        Assert.Equal(80, tcp.DestinationPort);
        Assert.Equal(TcpFlags.Syn, tcp.TcpFlags);
        Assert.Equal("xwing", tcp.Source.Pod);
        Assert.Equal("deathstar-7848d6c4d5-th9v2", tcp.Destination.Pod);
        Assert.Equal("deathstar", tcp.Destination.Workload);
        Assert.Equal("kind-kind/kind-worker", tcp.NodeName);
        Assert.Equal(DateTimeOffset.Parse("2023-08-21T12:12:18.510175415Z").UtcTicks, tcp.Time.UtcTicks);
    }

    [SkippableFact]
    public void NewestFormat_ReadsWorkloadsIsReplyAndSkipsUnknownFields()
    {
        TestPaths.RequireCorpus();
        var f = Assert.Single(ReadAll("tke-guide-cilium-1.19-flow.jsonl"));
        Assert.Equal("a38e44fa-b7b7-4f8f-a40b-2c1dd2621140", f.Uuid);
        Assert.Equal(Verdict.Forwarded, f.Verdict);
        Assert.Equal(ReplyState.Request, f.Reply);
        Assert.Equal(TcpFlags.Ack, f.TcpFlags);
        Assert.Equal("curl", f.Source.Workload);
        Assert.Equal("Deployment", f.Source.WorkloadKind);
        Assert.Equal("nginx", f.Destination.Workload); // from the app label: this line has no destination workloads
        Assert.Equal(4368u, f.Source.Identity);
        Assert.Equal(ObservationPoint.ToStack, f.ObservationPoint);
        Assert.Equal(TrafficDirection.Egress, f.Direction);
        Assert.Equal(CiliumEventTypes.Trace, f.EventType);
        Assert.Equal(3, f.EventSubType);
    }

    [SkippableFact]
    public void DnsFlows_CarryQueryAndRcode()
    {
        TestPaths.RequireCorpus();
        var flows = ReadAll("hubble-otel-basic-sample-330-dns-flows.jsonl");
        var dns = flows.Where(f => f.L7?.Dns is not null).ToList();
        Assert.NotEmpty(dns);
        var request = dns.First(f => f.L7!.Kind == L7Kind.Request);
        Assert.EndsWith(".", request.L7!.Dns!.Query);
        Assert.Equal("A", request.L7.Dns.QType);
        Assert.Equal(FlowKind.L7, request.Kind);
        Assert.Equal(CiliumEventTypes.AccessLog, request.EventType);
        var nxdomain = dns.Where(f => f.L7!.Kind == L7Kind.Response && f.L7.Dns!.Rcode == 3).ToList();
        Assert.NotEmpty(nxdomain);
        Assert.All(nxdomain, f => Assert.Equal(ReplyState.Reply, f.Reply));
        output.WriteLine($"{dns.Count} DNS records, {nxdomain.Count} NXDOMAIN answers");
    }

    [SkippableFact]
    public void OlderFormat_FallsBackToDeprecatedReplyFlag()
    {
        TestPaths.RequireCorpus();
        var flows = ReadAll("hubble-otel-basic-sample-400-tcp-flows.jsonl");
        Assert.Contains(flows, f => f.Reply == ReplyState.Reply);
        Assert.Contains(flows, f => f.TcpFlags.HasFlag(TcpFlags.Syn | TcpFlags.Ack));
        Assert.All(flows, f => Assert.Equal(L4Protocol.Tcp, f.Protocol));
        Assert.All(flows, f => Assert.NotEqual(0, f.DestinationPort));
    }
}
