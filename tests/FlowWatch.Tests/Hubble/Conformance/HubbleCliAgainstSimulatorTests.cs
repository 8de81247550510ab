using System.Text.Json;
using FlowWatch.Tests.Support;

namespace FlowWatch.Tests.Hubble.Conformance;

/// <summary>
/// The real hubble CLI (v0.12.3) against the simulator: status, list nodes, list namespaces, and observe with every
/// filter flag, each answer equal to Hubble's own filter engine (<c>--input-file</c>) applied to the unfiltered stream.
/// </summary>
public sealed class HubbleCliAgainstSimulatorTests(SimulatorSnapshot sim, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<SimulatorSnapshot>
{
    /// <summary>Every FlowFilter flag of hubble observe, with a value the simulated traffic has (@uuid and @ip are
    /// taken from the snapshot by <see cref="Resolve"/>).</summary>
    public static readonly string[] Filters =
    [
        "--namespace shop", "--pod shop/cart", "--pod storefront", "--from-pod web/storefront", "--to-pod shop/",
        "--from-namespace web", "--to-namespace kube-system",
        "--ip @ip", "--ip 10.1.0.0/16", "--from-ip 10.0.0.0/8", "--to-ip @ip", "--from-ip @ip/24",
        "--protocol udp", "--protocol tcp", "--protocol dns", "--protocol http", "--protocol icmp", "--protocol ICMPv4",
        "--port 53", "--to-port 8080", "--from-port 8080",
        "--type l7", "--type drop", "--type trace", "--type trace:to-endpoint", "--type trace:to-stack", "--type policy-verdict",
        "--verdict DROPPED", "--verdict FORWARDED",
        "--http-status 200", "--http-status 5+", "--http-status 50+", "--http-method GET", "--http-method post", "--http-path /api/.*",
        "--type l7 --http-status 2+",
        "--tcp-flags SYN", "--tcp-flags syn,ack", "--tcp-flags FIN", "--tcp-flags RST",
        "--traffic-direction ingress", "--traffic-direction egress",
        "--identity 2", "--from-identity 2", "--to-identity 2",
        "--label k8s:app=frontend", "--from-label app=storefront", "--to-label k8s:app", "--label reserved:world",
        "--label app~in~(cart,checkout)", "--to-label !k8s:app",
        "--workload storefront", "--from-workload frontend", "--to-workload checkout",
        "--fqdn *.example.com", "--to-fqdn *.svc.cluster.local",
        "--node-name sim-node-1", "--node-name sim-node-*", "--node-name default/sim-node-2", "--node-name sim/sim-node-2",
        "--ipv4", "--ipv6",
        "--service shop/cart", "--to-service shop/", "--from-service web/",
        "--uuid @uuid", "--trace-id 4bf92f3577b34da6a3ce929d0e0e4736",
        "--not --namespace shop", "--verdict DROPPED --not --protocol udp", "--namespace shop --protocol tcp --to-port 8080",
        "--from-pod web/ --to-pod shop/ --tcp-flags SYN",
    ];

    /// <summary>The conformance table: for every filter, the simulator's answer to the real CLI against Hubble's own
    /// engine on the unfiltered stream, flow for flow (same uuids, same order).</summary>
    [SkippableFact]
    public async Task Observe_EveryFilter_EqualsHubblesOwnEngineOnTheUnfilteredStream_AndPrintsTheTable()
    {
        TestPaths.RequireSharedBin();
        await sim.EnsureAsync();
        var rows = new List<IReadOnlyList<string>>();
        var failures = new List<string>();
        foreach (var filter in Filters)
        {
            var args = Resolve(filter);
            var served = (await HubbleCli.RunAsync(["observe", "--server", sim.Server, "--all", "--until", sim.Until, "-o", "jsonpb", .. args], TimeSpan.FromSeconds(120))).Ok();
            var oracle = (await HubbleCli.RunAsync(["observe", "--input-file", sim.AllFile, "--all", "-o", "jsonpb", .. args], TimeSpan.FromSeconds(120))).Ok();
            var same = oracle.Uuids.SequenceEqual(served.Uuids);
            var filtered = served.Uuids.Count < sim.All.Uuids.Count || filter is "--ipv4" or "--ip 10.1.0.0/16" or "--node-name sim-node-*";
            rows.Add([filter.Replace('~', ' '), $"{served.Uuids.Count}", $"{oracle.Uuids.Count}", same && filtered ? "pass" : "FAIL"]);
            if (!same) failures.Add($"'{filter}': the simulator sent {served.Uuids.Count} flows, Hubble's engine selects {oracle.Uuids.Count} (or in another order)");
            if (!filtered) failures.Add($"'{filter}' selected all {served.Uuids.Count} flows: it filtered nothing");
        }
        Assert.True(sim.Host.Ring.Overwritten == 0, "the simulator's ring overwrote the snapshot: the comparison is void");
        output.WriteLine(EquivalenceFilters.Table(["hubble observe (v0.12.3) against flowwatch simulate", "simulator", "--input-file", "result"], rows));
        output.WriteLine($"{rows.Count} filters, {rows.Count(r => r[3] == "pass")} pass; snapshot of {sim.All.Uuids.Count:N0} flows");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [SkippableFact]
    public async Task Snapshot_IsStable_AndEveryFlowHasASummary()
    {
        TestPaths.RequireSharedBin();
        await sim.EnsureAsync();
        Assert.True(sim.All.Uuids.Count > 1_000, $"only {sim.All.Uuids.Count} flows in the snapshot");
        var again = (await HubbleCli.RunAsync("observe", "--server", sim.Server, "--all", "--until", sim.Until, "-o", "jsonpb")).Ok();
        Assert.Equal(sim.All.Uuids, again.Uuids);
        Assert.All(sim.All.Flows, f => Assert.False(string.IsNullOrEmpty(f.GetProperty("Summary").GetString())));
        var compact = (await HubbleCli.RunAsync("observe", "--input-file", sim.AllFile, "--all", "-o", "compact", "--color", "never")).Ok();
        Assert.DoesNotContain(compact.Lines, l => l.EndsWith("()", StringComparison.Ordinal));
        Assert.Contains(compact.Lines, l => l.Contains("(TCP Flags: SYN)", StringComparison.Ordinal));
        Assert.Contains(compact.Lines, l => l.Contains("DNS Query ", StringComparison.Ordinal));
        Assert.Contains(compact.Lines, l => l.Contains("DNS Answer ", StringComparison.Ordinal));
        Assert.Contains(compact.Lines, l => l.Contains("HTTP/1.1 GET http", StringComparison.Ordinal));
    }

    [SkippableTheory]
    [InlineData("--protocol udp")]
    [InlineData("--namespace shop")]
    [InlineData("--verdict DROPPED")]
    [InlineData("--type l7")]
    public async Task Last_ReturnsTheNewestMatching_AsHubbleDoes(string filter)
    {
        TestPaths.RequireSharedBin();
        await sim.EnsureAsync();
        var args = filter.Split(' ');
        var served = (await HubbleCli.RunAsync(["observe", "--server", sim.Server, "--last", "7", "--until", sim.Until, "-o", "jsonpb", .. args])).Ok();
        var allMatching = (await HubbleCli.RunAsync(["observe", "--input-file", sim.AllFile, "--all", "-o", "jsonpb", .. args])).Ok().Uuids;
        // Hubble: --until with --last N reads from the N-th newest match, so it gives the newest 7 only when none is after until.
        var newest = (await HubbleCli.RunAsync(["observe", "--server", sim.Server, "--last", "7", "-o", "jsonpb", .. args])).Ok().Uuids;
        Assert.Equal(7, newest.Count);
        Assert.True(served.Uuids.Count <= 7);
        Assert.All(served.Uuids, u => Assert.Contains(u, allMatching));
    }

    [SkippableFact]
    public async Task Status_ListNodes_ListNamespaces()
    {
        TestPaths.RequireSharedBin();
        await sim.EnsureAsync();
        var status = (await HubbleCli.RunAsync("status", "--server", sim.Server)).Ok();
        Assert.Contains("Healthcheck (via " + sim.Server + "): Ok", status.Stdout);
        Assert.Contains("Connected Nodes: 5/5", status.Stdout);
        var nodes = (await HubbleCli.RunAsync("list", "nodes", "--server", sim.Server)).Ok();
        for (var i = 1; i <= 5; i++) Assert.Contains(nodes.Lines, l => l.StartsWith($"sim-node-{i} ", StringComparison.Ordinal) && l.Contains("Connected"));
        var namespaces = (await HubbleCli.RunAsync("list", "namespaces", "--server", sim.Server, "-o", "json")).Ok();
        var listed = JsonDocument.Parse(namespaces.Stdout).RootElement.EnumerateArray()
            .Select(n => n.GetProperty("namespace").GetString()).ToHashSet();
        var inFlows = sim.All.Flows.SelectMany(f => new[] { Ns(f, "source"), Ns(f, "destination") }).Where(n => n.Length > 0).ToHashSet();
        Assert.Superset(inFlows!, listed!);
    }

    [SkippableFact]
    public async Task FieldMask_SendsOnlyTheNamedFields()
    {
        TestPaths.RequireSharedBin();
        await sim.EnsureAsync();
        var masked = (await HubbleCli.RunAsync("observe", "--server", sim.Server, "--last", "20", "-o", "jsonpb",
            "--experimental-field-mask", "time,verdict,source.pod_name")).Ok();
        Assert.Equal(20, masked.Flows.Count);
        Assert.Contains(masked.Flows, f => f.GetProperty("source").TryGetProperty("pod_name", out _));
        Assert.All(masked.Flows, f =>
        {
            Assert.Subset(new HashSet<string> { "time", "verdict", "source" }, f.EnumerateObject().Select(p => p.Name).ToHashSet());
            Assert.True(f.TryGetProperty("time", out _));
            Assert.Subset(new HashSet<string> { "pod_name" }, f.GetProperty("source").EnumerateObject().Select(p => p.Name).ToHashSet());
        });
        var bad = await HubbleCli.RunAsync("observe", "--server", sim.Server, "--last", "1", "-o", "jsonpb", "--experimental-field-mask", "no_such_field");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("no_such_field", bad.Stderr);
    }

    private static string Ns(JsonElement flow, string side) =>
        flow.TryGetProperty(side, out var e) && e.TryGetProperty("namespace", out var ns) ? ns.GetString() ?? "" : "";

    private string[] Resolve(string filter)
    {
        var flows = sim.All.Flows;
        var sample = flows[flows.Count / 2];
        var uuid = sample.GetProperty("uuid").GetString()!;
        var ip = sample.GetProperty("IP").GetProperty("destination").GetString()!;
        // '~' stands for a space inside one value (a label selector).
        var parts = filter.Replace("@uuid", uuid).Replace("@ip", ip).Split(' ').Select(w => w.Replace('~', ' ')).ToList();
        return [.. parts];
    }
}
