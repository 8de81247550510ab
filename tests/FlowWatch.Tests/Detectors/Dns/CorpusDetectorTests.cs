using System.IO.Compression;
using FlowWatch.Detectors.Dns;
using FlowWatch.Detectors.DuplicateIp;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Pipeline;
using FlowWatch.Tests.Support;
using Google.Protobuf;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Detectors.Dns;

/// <summary>Both detectors over every real recording in the shared corpus: what they find, and what they must not.</summary>
public sealed class CorpusDetectorTests(ITestOutputHelper output)
{
    private static readonly JsonParser Parser = new(new JsonParser.Settings(100).WithIgnoreUnknownFields(true));

    private sealed record FileResult(string Name, int Flows, List<Finding> Findings, double Drops, double NoAnswer,
        double NxDomain, double Answers, int Requests);

    [Fact]
    public void CorpusRecordings_NxDomainIsNeverADrop_AndEveryFindingIsExplained()
    {
        if (TestPaths.Corpus is null) { output.WriteLine(TestPaths.CorpusMissing); return; }
        var results = TestPaths.CorpusFiles.Select(Run).ToList();
        foreach (var r in results)
        {
            output.WriteLine($"{r.Name}: {r.Flows} flows, {r.Requests} DNS requests, {r.Answers} answers " +
                             $"({r.NxDomain} NXDOMAIN), {r.Drops} drops ({r.NoAnswer} no answer), {r.Findings.Count} finding events");
            foreach (var f in r.Findings)
                output.WriteLine($"  [{f.State} {f.Severity} {Finding.KindName(f.Kind)}] {f.Summary}");
        }

        var dns330 = results.Single(r => r.Name == "hubble-otel-basic-sample-330-dns-flows.jsonl");
        Assert.Equal(165, dns330.Requests);
        Assert.Equal(165, dns330.Answers);
        Assert.Equal(102, dns330.NxDomain);
        Assert.Equal(0, dns330.Drops);

        Assert.True(results.Sum(r => r.NxDomain) >= 102);
        // The only DNS "drop" in the corpus is the last request of the 5-flow sample, whose answer the
        // recording cut off; nothing is a policy or datapath drop.
        foreach (var r in results)
        {
            Assert.Equal(r.NoAnswer, r.Drops);
            Assert.Equal(r.Name == "hubble-otel-basic-sample-5-dns-flows.jsonl" ? 1 : 0, r.NoAnswer);
        }
        // SOURCES.md: no DNS policy drops, no duplicate IPs in these recordings.
        Assert.DoesNotContain(results.SelectMany(r => r.Findings),
            f => f.Kind is FindingKind.DnsDrops or FindingKind.DuplicateIp or FindingKind.UnmanagedPod);
    }

    private FileResult Run(string path)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var dns = new DnsDropDetector();
        var dup = new DuplicateIpDetector();
        var findings = new List<Finding>();
        var converter = new FlowConverter();
        var flows = 0;
        var requests = 0;
        using (var pipeline = new FlowPipeline([dns, dup], Prometheus.Metrics.WithCustomRegistry(registry)))
        {
            pipeline.Findings.Subscribe(findings.Add);
            using var stream = File.OpenRead(path);
            using var text = new StreamReader(path.EndsWith(".gz", StringComparison.Ordinal)
                ? new GZipStream(stream, CompressionMode.Decompress) : stream);
            while (text.ReadLine() is { } line)
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                var response = Parser.Parse<GetFlowsResponse>(line);
                if (response.Flow is null) continue;
                var record = converter.Convert(response.Flow, response.NodeName);
                if (record.L7?.Dns is not null && record.L7.Kind == L7Kind.Request) requests++;
                pipeline.Process(record);
                flows++;
            }
            // Let every pending lookup reach its timeout, and every finding its quiet period.
            pipeline.AdvanceBy(dns.Options.NoAnswerTimeout + TimeSpan.FromSeconds(2));
            pipeline.AdvanceBy(TimeSpan.FromMinutes(15));
            Assert.Equal(0, dns.PendingRequests);
            Assert.Empty(pipeline.Book.OpenFindings);
        }
        var exported = MetricText.Export(registry);
        double Sum(string name, Func<Dictionary<string, string>, bool> where) =>
            MetricText.Series(exported, name).Where(l => where(MetricText.Labels(l)))
                .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        return new FileResult(Path.GetFileName(path), flows, findings,
            Sum("flowwatch_dns_lookups_dropped_total", _ => true),
            Sum("flowwatch_dns_lookups_dropped_total", l => l["reason"] == "no_answer"),
            Sum("flowwatch_dns_answers_total", l => l["rcode"] == "nxdomain"),
            Sum("flowwatch_dns_answers_total", _ => true),
            requests);
    }
}
