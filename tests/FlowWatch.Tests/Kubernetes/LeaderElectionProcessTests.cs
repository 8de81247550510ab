using System.Diagnostics;
using FlowWatch.Simulation;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;
using static FlowWatch.Tests.Kube.KubeObjects;

namespace FlowWatch.Tests.Kube;

/// <summary>Two FlowWatch processes (the built CLI, <c>watch --remediate evict</c>) against one fake API server: exactly one
/// leads and evicts; killed, the other takes over within the lease and is then the only one that acts.</summary>
public sealed class LeaderElectionProcessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task TwoProcesses_OneLeadsAndEvicts_KilledLeaderIsReplacedWithinTheLease_OnlyTheLeaderActs()
    {
        await using var api = await FakeApiServer.StartAsync();
        api.EvictionsDeletePods = true;
        api.Nodes.Put(Node("n1", "192.168.0.11"));
        api.Pods.Put(Agent("n1", "192.168.0.11", T0.AddMinutes(-10)));
        // Started before the agent with no CiliumEndpoint, its IP also held by a managed pod: the pod to evict.
        api.Pods.Put(Pod("shop", "legacy-7f9c8d6b5-aaaaa", "n1", "10.4.0.9", T0.AddMinutes(-15), owner: "legacy-7f9c8d6b5"));
        api.Pods.Put(Pod("shop", "api-6d5f7c8b9-bbbbb", "n1", "10.4.0.9", T0.AddMinutes(-5), owner: "api-6d5f7c8b9"));
        api.CiliumEndpoints.Put(Endpoint("shop", "api-6d5f7c8b9-bbbbb", "10.4.0.9", "192.168.0.11"));
        // Flows, so that event time runs in both processes (the detector judges conflicts in it).
        await using var hubble = new SimulatorHost(new SimulatorOptions { Listen = "127.0.0.1:0", FlowsPerSecond = 100 });
        await hubble.StartAsync();

        var dir = Directory.CreateTempSubdirectory("fw-leader-").FullName;
        try
        {
            var kubeconfig = Path.Combine(dir, "kubeconfig.yaml");
            await api.WriteKubeconfigAsync(kubeconfig);
            string[] args = ["--hubble", hubble.Address.ToString().TrimEnd('/'), "--kubeconfig", kubeconfig, "--remediate", "evict", "--remediate-max", "10",
                "--leader-lease-duration", $"{LeaseDuration.TotalSeconds}s", "--progress", "30s"];
            var env = new Dictionary<string, string> { ["POD_NAMESPACE"] = "flowwatch", ["HOSTNAME"] = "replica-a" };

            await using var a = WatchProcess.Start(args, env);
            await Until(async () => api.Leases.Holder("flowwatch", "flowwatch-remediation")?.StartsWith("replica-a", StringComparison.Ordinal) == true,
                "replica a holds the Lease", a);
            await using var b = WatchProcess.Start(args, new Dictionary<string, string>(env) { ["HOSTNAME"] = "replica-b" });
            await Until(async () => (await b.ReadyzAsync())?.Contains("leadership: follower, replica replica-a", StringComparison.Ordinal) == true,
                "replica b says on /readyz that it follows a", b);
            Assert.Contains("leadership: leader, holding Lease flowwatch/flowwatch-remediation", await a.ReadyzAsync());

            // Only the leader evicts the unmanaged pod, once.
            await Until(async () => api.Evictions.Any(), "an eviction", a);
            await Until(async () => await Evictions(a) == 1, "a counts its eviction", a);
            Assert.Equal("legacy-7f9c8d6b5-aaaaa", EvictedPod(Assert.Single(api.Evictions).Path));
            Assert.Equal(0, await Evictions(b));
            Assert.Equal(0, await LeaderGauge(b));
            Assert.Equal(1, await LeaderGauge(a));

            // The leader dies without releasing the Lease; b takes over once it runs out.
            var killed = Stopwatch.StartNew();
            await a.KillAsync();
            await Until(async () => api.Leases.Holder("flowwatch", "flowwatch-remediation")?.StartsWith("replica-b", StringComparison.Ordinal) == true,
                "replica b takes the Lease", b);
            var takeover = killed.Elapsed;
            output.WriteLine($"takeover {takeover.TotalSeconds:F1} s after the leader was killed (lease {LeaseDuration.TotalSeconds:0} s)");
            // The Lease may have been renewed just before the kill: it runs out one lease duration later, and b retries
            // every lease/7.5. The margin on top is for a loaded machine, not for the election.
            Assert.True(takeover < LeaseDuration * 2 + TimeSpan.FromSeconds(10), $"takeover after {takeover.TotalSeconds:F1} s, lease {LeaseDuration.TotalSeconds} s");
            await Until(async () => (await b.ReadyzAsync())?.Contains("leadership: leader", StringComparison.Ordinal) == true, "b says it leads", b);

            // A new unmanaged pod: b, now the leader, evicts it; the first one is not evicted twice.
            api.Pods.Put(Pod("shop", "batch-5c7d8f9b6-ccccc", "n1", "10.4.0.10", T0.AddMinutes(-15), owner: "batch-5c7d8f9b6"));
            api.Pods.Put(Pod("shop", "web-6d5f7c8b9-ddddd", "n1", "10.4.0.10", T0.AddMinutes(-5), owner: "web-6d5f7c8b9"));
            api.CiliumEndpoints.Put(Endpoint("shop", "web-6d5f7c8b9-ddddd", "10.4.0.10", "192.168.0.11"));
            await Until(async () => await Evictions(b) == 1, "b evicts the new unmanaged pod", b);
            var evicted = api.Evictions.Select(e => EvictedPod(e.Path)).ToList();
            Assert.Equal(["legacy-7f9c8d6b5-aaaaa", "batch-5c7d8f9b6-ccccc"], evicted);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // /api/v1/namespaces/NS/pods/NAME/eviction
    private static string EvictedPod(string path) => path.Split('/')[^2];

    private static async Task<double> Evictions(WatchProcess p) =>
        Sample(await p.GetAsync("/metrics") ?? "", "flowwatch_remediation_total{action=\"evict\"");

    private static async Task<double> LeaderGauge(WatchProcess p) =>
        Sample(await p.GetAsync("/metrics") ?? "", "flowwatch_remediation_leader");

    // The sum of every sample whose series starts with the prefix (labels beyond it may vary); 0 when there is none.
    private static double Sample(string metrics, string prefix) => metrics.Split('\n')
        .Where(l => l.StartsWith(prefix, StringComparison.Ordinal))
        .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    private static async Task Until(Func<Task<bool>> condition, string what, WatchProcess shown)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < Deadline, $"not within {Deadline.TotalSeconds:0} s: {what}\n--- output of the process ---\n{shown.Output}");
            await Task.Delay(100);
        }
    }
}
