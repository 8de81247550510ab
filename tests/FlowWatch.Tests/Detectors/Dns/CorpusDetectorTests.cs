using System.IO.Compression;
using FlowWatch.Detectors.Backends;
using FlowWatch.Detectors.Dns;
using FlowWatch.Hosting;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Pipeline;
using FlowWatch.Tests.Support;
using Google.Protobuf;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Detectors.Dns;

/// <summary>All four detectors over every real recording in the shared corpus: what they find, and what they must not.</summary>
public sealed class CorpusDetectorTests(ITestOutputHelper output)
{
    private static readonly JsonParser Parser = new(new JsonParser.Settings(100).WithIgnoreUnknownFields(true));

    private sealed record FileResult(string Name, int Flows, List<Finding> Findings, double Drops, double NoAnswer,
        double NxDomain, double Answers, int Requests, IReadOnlyDictionary<string, double> Handshakes, string Backends);

    [SkippableFact]
    public void CorpusRecordings_ThroughAllFourDetectors_NxDomainIsNeverADrop_AndEveryFindingIsExplained()
    {
        TestPaths.RequireCorpus();
        var results = TestPaths.CorpusFiles.Select(Run).ToList();
        foreach (var r in results)
        {
            output.WriteLine($"{r.Name}: {r.Flows} flows, {r.Requests} DNS requests, {r.Answers} answers " +
                             $"({r.NxDomain} NXDOMAIN), {r.Drops} drops ({r.NoAnswer} no answer), {r.Findings.Count} finding events");
            output.WriteLine("  TCP handshakes: " + (r.Handshakes.Count == 0 ? "none"
                : string.Join(", ", r.Handshakes.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))) + "; backends: " + r.Backends);
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
        // SOURCES.md: no DNS policy drops, no duplicate IPs, no asymmetric handshakes, no failing backends.
        Assert.DoesNotContain(results.SelectMany(r => r.Findings),
            f => f.Kind is FindingKind.DnsDrops or FindingKind.DuplicateIp or FindingKind.UnmanagedPod
                or FindingKind.AsymmetricPath or FindingKind.BackendUnhealthy);
        // The TCP recording's handshakes all got a SYN-ACK: completed, or cut off by the recording (incomplete), never failed.
        var tcp = results.Single(r => r.Name == "hubble-otel-basic-sample-400-tcp-flows.jsonl");
        Assert.True(tcp.Handshakes.GetValueOrDefault("completed") > 0);
        Assert.All(tcp.Handshakes.Keys, k => Assert.Contains(k, new[] { "completed", "incomplete" }));
        // Policy verdict events (the whole of the l7-redirected recording) are not handshakes.
        Assert.Empty(results.Single(r => r.Name == "hubble-otel-basic-sample-400-l7-redirected-flows.jsonl").Handshakes);
        // The exporter example's one TCP flow is a SYN dropped by policy.
        Assert.Equal(1, results.Single(r => r.Name == "cilium-docs-exporter-dropped.jsonl").Handshakes.GetValueOrDefault("dropped"));
    }

    private FileResult Run(string path)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var detectors = DetectorSet.Create(DetectorSettings.Default);
        var dns = detectors.OfType<DnsDropDetector>().Single();
        var backends = detectors.OfType<BackendHealthDetector>().Single();
        var findings = new List<Finding>();
        var converter = new FlowConverter();
        var flows = 0;
        var requests = 0;
        string backendText;
        using (var pipeline = new FlowPipeline(detectors, Prometheus.Metrics.WithCustomRegistry(registry)))
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
            backendText = string.Join("; ", backends.Services.Select(svc => $"{svc.Namespace}/{svc.Service}: " + string.Join(", ",
                backends.DescribeService(svc.Namespace, svc.Service)!.Select(b => $"{b.Pod} {b.State}"))));
            if (backendText.Length == 0) backendText = "none";
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
            requests,
            MetricText.Series(exported, "flowwatch_tcp_handshakes_total").GroupBy(l => MetricText.Labels(l)["outcome"])
                .ToDictionary(g => g.Key, g => g.Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)))
                .Where(p => p.Value > 0).ToDictionary(),
            backendText);
    }
}
