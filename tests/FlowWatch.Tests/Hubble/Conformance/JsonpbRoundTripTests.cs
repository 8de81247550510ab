using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using FlowWatch.Api;
using FlowWatch.Simulation;
using FlowWatch.Tests.Api;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Hubble.Conformance;

/// <summary>
/// The round trip of a live run: <c>flowwatch watch</c> follows the simulator, <c>flowwatch flows --all -o jsonpb</c>
/// exports its store, the real <c>hubble observe --input-file</c> reads the export back (byte for byte what it would
/// write itself) with the same flows the simulator served (endpoint labels included), and <c>flowwatch replay</c> of the export raises the findings
/// the live run raised; <c>replay --serve</c> of it answers flows/findings/health/backends from the CLI.
/// </summary>
public sealed class JsonpbRoundTripTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(240);
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-roundtrip-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public async Task LiveRun_ExportedAsJsonpb_HubbleReadsTheSameFlows_ReplayRaisesTheSameFindings()
    {
        TestPaths.RequireSharedBin();
        var sim = new SimulatorHost(new SimulatorOptions
        {
            Listen = "127.0.0.1:0", Nodes = 5, FlowsPerSecond = 400, BufferSize = 1 << 20, Scenarios = ScenarioSet.All, Seed = 7,
            // Sorted: this test proves the export byte for byte, and a served replay's store holds the flows in the
            // order replay's reorder stage released them, which for a Relay-shaped live stream differs legitimately from
            // the live store's arrival order. Relay-shaped streams' findings are RelayShapedStreamTests' to prove.
            Shapes = TrafficShapes.None,
        });
        await sim.StartAsync();
        var simStopped = false;
        try
        {
            await using var watch = await CliServer.StartAsync(TimeSpan.FromSeconds(90),
                "watch", "--hubble", $"127.0.0.1:{sim.EndPoint!.Port}", "--listen", "127.0.0.1:0", "--view", "lines");
            using var http = new HttpClient { BaseAddress = new Uri(watch.Address), Timeout = TimeSpan.FromSeconds(60) };

            // Live until the detectors have raised findings of at least three kinds.
            await Until(async () => (await Findings(http)).Select(f => f.Kind).Distinct().Count() >= 3, "findings of three kinds from the live run");
            await sim.DisposeAsync();
            simStopped = true;
            await Until(async () => (await http.GetAsync("/readyz")).StatusCode == System.Net.HttpStatusCode.ServiceUnavailable, "the watch to see the simulator gone");
            // What was queued when the stream ended goes on within the allowed lateness (2 s): the reorder stage holds a
            // lagging node's flows until event time, following the wall clock once the stream is idle, passes them. So
            // the store has settled only when it has not grown for longer than that, not between two quick reads.
            long before = -1;
            var unchanged = Stopwatch.StartNew();
            await Until(async () =>
            {
                var now = (await http.GetFromJsonAsync<FlowsResponse>("/api/v1/flows?limit=1", ApiJson.Options))!.Retained;
                if (now != before) { before = now; unchanged.Restart(); }
                return unchanged.Elapsed > TimeSpan.FromSeconds(3.5);
            }, "the store to stop growing");

            var export = Path.Combine(_dir, "export.jsonl");
            var run = await CliRun.RunAsync("flows", "--all", "-o", "jsonpb", "--server", watch.Address);
            Assert.True(run.ExitCode == 0, run.Stderr);
            await File.WriteAllTextAsync(export, run.Stdout);
            var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var stored = (await http.GetFromJsonAsync<FlowsResponse>("/api/v1/flows?limit=1", ApiJson.Options))!;
            output.WriteLine($"live run: {stored.Retained:N0} flows stored, {lines.Length:N0} exported");
            Assert.True(lines.Length >= 1000, $"only {lines.Length} flows exported");
            Assert.Equal(stored.Retained, lines.Length);

            // Every exported flow is one the simulator served, with its uuid, time, verdict and endpoints.
            var served = new List<FlowRing.Entry>();
            sim.Ring.Read(sim.Ring.Oldest, served, sim.Ring.Count);
            var byUuid = served.Where(e => e.Message.Flow is not null).ToDictionary(e => e.Message.Flow.Uuid);
            var uuids = new HashSet<string>();
            foreach (var line in lines)
            {
                var flow = JsonDocument.Parse(line).RootElement.GetProperty("flow");
                var uuid = flow.GetProperty("uuid").GetString()!;
                Assert.True(uuids.Add(uuid), $"uuid {uuid} exported twice");
                Assert.True(byUuid.TryGetValue(uuid, out var source), $"exported uuid {uuid} was never served by the simulator");
                var f = source.Message.Flow;
                var time = new System.Text.StringBuilder();
                HubbleFlowJson.Time(time, f.Time.Seconds * 1_000_000_000L + f.Time.Nanos);
                Assert.Equal(time.ToString().Trim('"'), flow.GetProperty("time").GetString());
                Assert.Equal(FlowWatch.Flows.ProtoEnumNames<FlowWatch.Hubble.Proto.Flow.Verdict>.Of(f.Verdict), flow.GetProperty("verdict").GetString());
                Assert.Equal(f.IP.Source, flow.GetProperty("IP").GetProperty("source").GetString());
                Assert.Equal(f.IP.Destination, flow.GetProperty("IP").GetProperty("destination").GetString());
                Assert.Equal(f.Source.PodName, Text(flow.GetProperty("source"), "pod_name"));
                Assert.Equal(f.Destination.PodName, Text(flow.GetProperty("destination"), "pod_name"));
                Assert.Equal(f.Source.Namespace, Text(flow.GetProperty("source"), "namespace"));
                Assert.Equal(f.Destination.Identity, Number(flow.GetProperty("destination"), "identity"));
                Assert.Equal(f.NodeName, flow.GetProperty("node_name").GetString());
                Assert.Equal(f.Source.Labels, Labels(flow.GetProperty("source")));
                Assert.Equal(f.Destination.Labels, Labels(flow.GetProperty("destination")));
            }

            // hubble reads every line back and writes each exactly as FlowWatch did; -o json is its alias.
            var hubble = (await HubbleCli.RunAsync(["observe", "--input-file", export, "--all", "-o", "jsonpb"], TimeSpan.FromSeconds(120))).Ok();
            Assert.Equal(lines.Length, hubble.Lines.Count);
            Assert.Equal(run.Stdout, hubble.Stdout);
            var asJson = await CliRun.RunAsync("flows", "--all", "-o", "json", "--server", watch.Address);
            Assert.Equal(run.Stdout, asJson.Stdout);

            // The live store answers each filter as hubble's own engine does on the same flows.
            (string Query, string Flags)[] filters =
            [
                ("namespace=shop", "--namespace shop"), ("pod=shop/cart", "--pod shop/cart"), ("from_namespace=web", "--from-namespace web"),
                ("to_pod=kube-system/coredns", "--to-pod kube-system/coredns"), ("port=53", "--port 53"), ("to_port=8080", "--to-port 8080"),
                ("protocol=udp", "--protocol udp"), ("protocol=tcp", "--protocol tcp"), ("protocol=dns", "--protocol dns"),
                ("protocol=http", "--protocol http"), ("verdict=dropped", "--verdict DROPPED"), ("node=sim-node-1", "--node-name sim-node-1"),
                ("ip=10.1.0.0/16", "--ip 10.1.0.0/16"), ("from_ip=203.0.113.0/24", "--from-ip 203.0.113.0/24"), ("identity=2", "--identity 2"),
                ("type=l7", "--type l7"), ("type=drop", "--type drop"), ("type=trace:to-endpoint", "--type trace:to-endpoint"),
                ("label=k8s:app=frontend", "--label k8s:app=frontend"), ("from_label=app=storefront", "--from-label app=storefront"),
                ("to_label=k8s:app", "--to-label k8s:app"), ("label=reserved:world", "--label reserved:world"),
            ];
            var unequal = new List<string>();
            foreach (var (query, flags) in filters)
            {
                var expected = (await HubbleCli.RunAsync(["observe", "--input-file", export, "--all", "-o", "jsonpb", .. flags.Split(' ')], TimeSpan.FromSeconds(60))).Ok().Flows.Count;
                var got = (await http.GetFromJsonAsync<FlowsResponse>($"/api/v1/flows?{query}&limit=10000", ApiJson.Options))!.Flows.Count;
                output.WriteLine($"  {query}: hubble {expected}, flowwatch {got}");
                if (expected != got || expected == 0) unequal.Add($"{query}: hubble {expected}, FlowWatch {got}");
            }
            Assert.True(unequal.Count == 0, string.Join("\n", unequal));

            // The export replayed raises what the live run raised (open or since resolved).
            var replay = await CliRun.RunAsync("replay", export, "--format", "json");
            Assert.True(replay.ExitCode == 0, replay.Stderr);
            var replayed = Ids(JsonDocument.Parse(replay.Stdout).RootElement.GetProperty("findings"));
            output.WriteLine($"replay of the export: {replayed.Count} findings: {string.Join(", ", replayed.Order())}");
            Assert.NotEmpty(replayed);
            HashSet<string> live = [];
            try { await Until(async () => (live = (await Findings(http)).Select(f => f.Id).ToHashSet()).SetEquals(replayed), "the live findings to equal the replay's"); }
            catch (TimeoutException) { Assert.Fail($"live only: {string.Join(", ", live.Except(replayed))}; replay only: {string.Join(", ", replayed.Except(live))}"); }

            // Served: the CLI's query commands answer about the recording as about a live FlowWatch.
            await using var serve = await CliServer.StartAsync(TimeSpan.FromSeconds(90), "replay", export, "--serve", "--listen", "127.0.0.1:0", "--quiet");
            await serve.WaitForLineAsync(l => l.StartsWith("flowwatch replay: serving ", StringComparison.Ordinal) && l.Contains(" flows and "), Deadline);
            var served2 = await CliRun.RunAsync("findings", "-o", "json", "--server", serve.Address);
            Assert.True(served2.ExitCode == 0, served2.Stderr);
            Assert.Equal(replayed, Ids(JsonDocument.Parse(served2.Stdout).RootElement.GetProperty("findings")));
            var again = await CliRun.RunAsync("flows", "--all", "-o", "jsonpb", "--server", serve.Address);
            Assert.Equal(run.Stdout, again.Stdout);
            var findings = JsonSerializer.Deserialize<FindingsResponse>(served2.Stdout, ApiJson.Options)!.Findings;
            var withPod = findings.First(f => f.Subject.Pod.Length > 0);
            var health = await CliRun.RunAsync("health", $"{withPod.Subject.Namespace}/{withPod.Subject.Pod}", "--server", serve.Address);
            Assert.True(health.ExitCode == 0, health.Stderr);
            Assert.Contains(withPod.Subject.Pod, health.Stdout);
            if (findings.FirstOrDefault(f => f.Subject.Service.Length > 0) is { } withService)
            {
                var backends = await CliRun.RunAsync("backends", $"{withService.Subject.Namespace}/{withService.Subject.Service}", "--server", serve.Address);
                Assert.True(backends.ExitCode == 0, backends.Stderr);
                Assert.Contains("backends", backends.Stdout);
            }
            Assert.Equal(0, await serve.TerminateAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            if (!simStopped) await sim.DisposeAsync();
        }
    }

    private static async Task<IReadOnlyList<FlowWatch.Findings.Finding>> Findings(HttpClient http) =>
        (await http.GetFromJsonAsync<FindingsResponse>("/api/v1/findings?state=all&limit=10000", ApiJson.Options))!.Findings;

    private static HashSet<string> Ids(JsonElement findings) => findings.EnumerateArray().Select(f => f.GetProperty("id").GetString()!).ToHashSet();

    private static string Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString()! : "";

    private static List<string> Labels(JsonElement e) =>
        e.TryGetProperty("labels", out var v) ? v.EnumerateArray().Select(l => l.GetString()!).ToList() : [];

    private static uint Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetUInt32() : 0;

    private static async Task Until(Func<Task<bool>> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < Deadline)
        {
            if (await condition()) return;
            await Task.Delay(250);
        }
        throw new TimeoutException($"timed out after {Deadline.TotalSeconds:0} s waiting for {what}");
    }
}
