using FlowWatch.Api;
using FlowWatch.Flows;
using FlowWatch.Replay;
using FlowWatch.Store;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Hubble.Conformance;

/// <summary>
/// FlowWatch's query semantics against Hubble's: for each corpus recording and filter of <see cref="EquivalenceFilters"/>,
/// the number of flows <c>/api/v1/flows</c>' query answers after loading the recording into the store equals what
/// <c>hubble observe --input-file F --all</c> prints for the same filter. Prints the table of counts (filters x recordings).
/// </summary>
public sealed class QueryEquivalenceTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task EveryFilterOnEveryRecording_CountsAsHubbleInputFile_AndPrintsTheTable()
    {
        var files = TestPaths.CorpusFiles;
        Skip.If(files.Count == 0, TestPaths.CorpusMissing);
        TestPaths.RequireSharedBin();
        var stores = files.ToDictionary(f => f, Load);
        var mismatches = new List<string>();
        var rows = new List<IReadOnlyList<string>>();
        long pairs = 0, flows = 0;
        foreach (var filter in EquivalenceFilters.All)
        {
            var row = new List<string> { filter.ToString() };
            long total = 0;
            foreach (var file in files)
            {
                var expected = await EquivalenceFilters.HubbleCountAsync(file, filter);
                var got = Answer(stores[file], filter);
                pairs++;
                total += got;
                row.Add(expected == got ? $"{got}" : $"{got}≠{expected}");
                if (expected != got) mismatches.Add($"{Path.GetFileName(file)} with {filter}: hubble counts {expected}, FlowWatch answers {got}");
            }
            row.Add($"{total}");
            rows.Add(row);
            flows += total;
            if (total == 0) mismatches.Add($"{filter} matched nothing in any recording: the comparison proves nothing");
        }
        var header = new List<string> { "filter (FlowWatch = hubble --input-file)" };
        header.AddRange(files.Select((_, i) => $"f{i + 1}"));
        header.Add("total");
        output.WriteLine(EquivalenceFilters.Table(header, rows));
        output.WriteLine(string.Join("\n", files.Select((f, i) => $"f{i + 1} = {Path.GetFileName(f)} ({stores[f].Count} flows)")));
        output.WriteLine($"{EquivalenceFilters.All.Count} filters x {files.Count} recordings = {pairs} pairs, {pairs - mismatches.Count} equal; {flows:N0} flows matched in all");
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    private static FlowStore Load(string file)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var store = new FlowStore(new FlowStoreOptions { MaxFlows = 65_536 }, Prometheus.Metrics.WithCustomRegistry(registry));
        foreach (var item in new FlowFileReader(new FlowConverter()).Read(file))
            if (item.Flow is { } flow) store.Add(flow);
        return store;
    }

    private static int Answer(FlowStore store, EquivalenceFilter filter)
    {
        var parameters = filter.Parameters.ToDictionary(p => p.Key, p => p.Value);
        parameters["limit"] = "10000";
        var q = QueryParameters.ParseFlows(n => parameters.GetValueOrDefault(n), parameters.Keys, DateTimeOffset.UtcNow);
        return store.Query(q).Flows.Count;
    }
}
