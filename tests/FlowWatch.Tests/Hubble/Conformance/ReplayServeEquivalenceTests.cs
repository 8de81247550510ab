using System.Net.Http.Json;
using FlowWatch.Api;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Hubble.Conformance;

/// <summary>
/// Query semantics over the built CLI: each corpus recording loaded with <c>flowwatch replay --serve</c>, then for each
/// filter the count <c>/api/v1/flows</c> answers equals what <c>hubble observe --input-file F --all</c> prints for the
/// same filter; and the served store exports the recording's flows again (same count, same uuids and times).
/// </summary>
public sealed class ReplayServeEquivalenceTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task EveryRecording_Served_AnswersEachFilterAsHubbleInputFile()
    {
        var files = TestPaths.CorpusFiles;
        Skip.If(files.Count == 0, TestPaths.CorpusMissing);
        TestPaths.RequireSharedBin();
        var mismatches = new List<string>();
        long compared = 0, matched = 0;
        foreach (var file in files)
        {
            await using var serve = await CliServer.StartAsync(TimeSpan.FromSeconds(90), "replay", file, "--serve", "--listen", "127.0.0.1:0", "--quiet");
            await serve.WaitForLineAsync(l => l.StartsWith("flowwatch replay: serving ", StringComparison.Ordinal) && l.Contains(" flows and "), TimeSpan.FromSeconds(120));
            using var http = new HttpClient { BaseAddress = new Uri(serve.Address), Timeout = TimeSpan.FromSeconds(60) };
            var counts = new List<string>();
            foreach (var filter in EquivalenceFilters.All)
            {
                var expected = await EquivalenceFilters.HubbleCountAsync(file, filter);
                var answer = (await http.GetFromJsonAsync<FlowsResponse>($"/api/v1/flows?{filter.UrlQuery}&limit=10000", ApiJson.Options))!;
                Assert.False(answer.Truncated, $"{filter} on {Path.GetFileName(file)} was truncated");
                compared++;
                matched += answer.Flows.Count;
                counts.Add($"{filter} {expected}");
                if (answer.Flows.Count != expected)
                    mismatches.Add($"{Path.GetFileName(file)} {filter}: hubble {expected}, FlowWatch (replay --serve) {answer.Flows.Count}");
            }
            // The CLI's flags mean the same: flows --label SELECTOR over the built CLI (the selector with spaces as one argument).
            var byCli = await Api.CliRun.RunAsync("flows", "--label", "k8s:app in (ratings,details)", "--limit", "10000", "-o", "api", "--server", serve.Address);
            Assert.True(byCli.ExitCode == 0, byCli.Stderr);
            var cliCount = System.Text.Json.JsonDocument.Parse(byCli.Stdout).RootElement.GetProperty("flows").GetArrayLength();
            var cliExpected = await EquivalenceFilters.HubbleCountAsync(file, new EquivalenceFilter("label=k8s:app~in~(ratings,details)", "--label k8s:app~in~(ratings,details)"));
            if (cliCount != cliExpected) mismatches.Add($"{Path.GetFileName(file)} flows --label 'k8s:app in (ratings,details)': hubble {cliExpected}, FlowWatch CLI {cliCount}");
            // The served store holds the recording: hubble's reading of the export is hubble's reading of the file.
            var original = (await HubbleCli.RunAsync(["observe", "--input-file", file, "--all", "-o", "jsonpb"], TimeSpan.FromSeconds(60))).Ok();
            var export = await Api.CliRun.RunAsync("flows", "--all", "-o", "jsonpb", "--server", serve.Address);
            Assert.True(export.ExitCode == 0, export.Stderr);
            var exported = export.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(original.Flows.Count, exported.Length);
            var times = original.Flows.Select(f => f.GetProperty("time").GetString()).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(times, exported.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("time").GetString()).Order(StringComparer.Ordinal).ToList());
            var withUuid = original.Flows.Where(f => f.TryGetProperty("uuid", out _)).Select(f => f.GetProperty("uuid").GetString()).ToHashSet();
            var exportedUuids = exported.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("flow"))
                .Where(f => f.TryGetProperty("uuid", out _)).Select(f => f.GetProperty("uuid").GetString()).ToHashSet();
            Assert.True(withUuid.SetEquals(exportedUuids), $"{Path.GetFileName(file)}: {withUuid.Count} uuids in the file, {exportedUuids.Count} exported");
            if (file == files[0])
            {
                // One server given by name exports the same lines; two are refused, with nothing written.
                var named = await Api.CliRun.RunAsync("flows", "--all", "-o", "jsonpb", "--server", $"rec={serve.Address}");
                Assert.True(named.ExitCode == 0, named.Stderr);
                Assert.Equal(export.Stdout, named.Stdout);
                var two = await Api.CliRun.RunAsync("flows", "--all", "-o", "jsonpb", "--server", $"a={serve.Address}", "--server", $"b={serve.Address}");
                Assert.Equal(1, two.ExitCode);
                Assert.Equal("", two.Stdout);
                Assert.Contains("exports one server's flows", two.Stderr);
            }
            output.WriteLine($"{Path.GetFileName(file)} ({exported.Length} flows): {string.Join("; ", counts)}");
            Assert.Equal(0, await serve.TerminateAsync(TimeSpan.FromSeconds(30)));
        }
        output.WriteLine($"{compared} (recording, filter) pairs compared ({EquivalenceFilters.All.Count} filters x {files.Count} recordings), " +
            $"{compared - mismatches.Count} equal, {matched:N0} flows matched in all");
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        Assert.True(matched > 0, "no filter matched any flow: the comparison proves nothing");
    }
}
