using FlowWatch.Api;
using FlowWatch.Flows;
using FlowWatch.Replay;
using FlowWatch.Store;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Hubble.Conformance;

/// <summary>
/// FlowWatch's query semantics against Hubble's: for each corpus recording and filter, the number of flows
/// <c>/api/v1/flows</c> answers after loading the recording into the store equals what
/// <c>hubble observe --input-file F --all</c> prints for the same filter.
/// </summary>
public sealed class QueryEquivalenceTests(ITestOutputHelper output)
{
    /// <summary>(FlowWatch query parameters, the hubble observe flags meaning the same).</summary>
    public static TheoryData<string, string> Filters => new()
    {
        { "namespace=bookinfo", "--namespace bookinfo" },
        { "namespace=kube-system", "--namespace kube-system" },
        { "pod=bookinfo/productpage", "--pod bookinfo/productpage" },
        { "pod=bookinfo/reviews-v", "--pod bookinfo/reviews-v" },
        { "pod=kube-system/coredns", "--pod kube-system/coredns" },
        { "from_pod=bookinfo/productpage", "--from-pod bookinfo/productpage" },
        { "to_pod=bookinfo/details", "--to-pod bookinfo/details" },
        { "from_namespace=bookinfo", "--from-namespace bookinfo" },
        { "to_namespace=kube-system", "--to-namespace kube-system" },
        { "ip=10.244.0.0/16", "--ip 10.244.0.0/16" },
        { "from_ip=10.244.0.0/24", "--from-ip 10.244.0.0/24" },
        { "to_ip=10.0.0.0/8", "--to-ip 10.0.0.0/8" },
        { "port=53", "--port 53" },
        { "port=9080", "--port 9080" },
        { "from_port=53", "--from-port 53" },
        { "to_port=9080", "--to-port 9080" },
        { "protocol=tcp", "--protocol tcp" },
        { "protocol=udp", "--protocol udp" },
        { "protocol=icmp", "--protocol icmp" },
        { "protocol=dns", "--protocol dns" },
        { "protocol=http", "--protocol http" },
        { "verdict=dropped", "--verdict DROPPED" },
        { "verdict=forwarded", "--verdict FORWARDED" },
        { "node=kind-control-plane", "--node-name kind-control-plane" },
        { "namespace=bookinfo&protocol=http&to_port=9080", "--namespace bookinfo --protocol http --to-port 9080" },
        { "identity=2", "--identity 2" },
        { "from_identity=1", "--from-identity 1" },
        { "to_identity=796", "--to-identity 796" },
        { "type=trace", "--type trace" },
        { "type=trace:to-stack", "--type trace:to-stack" },
        { "type=l7", "--type l7" },
        { "type=policy-verdict", "--type policy-verdict" },
    };

    [SkippableTheory]
    [MemberData(nameof(Filters))]
    public async Task CountPerRecording_EqualsHubbleInputFile(string query, string hubbleFlags)
    {
        var files = TestPaths.CorpusFiles;
        Skip.If(files.Count == 0, TestPaths.CorpusMissing);
        TestPaths.RequireSharedBin();
        long total = 0;
        var lines = new List<string>();
        foreach (var file in files)
        {
            var expected = (await HubbleCli.RunAsync(["observe", "--input-file", file, "--all", "-o", "jsonpb", .. hubbleFlags.Split(' ')])).Ok().Flows.Count;
            var got = Answer(file, query);
            lines.Add($"{Path.GetFileName(file)}: hubble {expected}, flowwatch {got}");
            Assert.True(expected == got, $"{Path.GetFileName(file)} with {query}: hubble counts {expected}, FlowWatch answers {got}");
            total += got;
        }
        output.WriteLine($"{query}: {total} flows over {files.Count} recordings\n  " + string.Join("\n  ", lines));
        Assert.True(total > 0, $"{query} matched nothing in any recording: the comparison proves nothing");
    }

    private static int Answer(string file, string query)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var store = new FlowStore(new FlowStoreOptions { MaxFlows = 65_536 }, Prometheus.Metrics.WithCustomRegistry(registry));
        foreach (var item in new FlowFileReader(new FlowConverter()).Read(file))
            if (item.Flow is { } flow) store.Add(flow);
        var parameters = query.Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        parameters["limit"] = "10000";
        var q = QueryParameters.ParseFlows(n => parameters.GetValueOrDefault(n), parameters.Keys, DateTimeOffset.UtcNow);
        return store.Query(q).Flows.Count;
    }
}
