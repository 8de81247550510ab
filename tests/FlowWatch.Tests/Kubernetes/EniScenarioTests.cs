using FlowWatch.Findings;
using FlowWatch.Hosting;
using FlowWatch.Kubernetes;
using FlowWatch.Tests.Detectors.Handshakes;
using Side = FlowWatch.Tests.Detectors.Handshakes.TcpFlows.Side;
using static FlowWatch.Tests.Kube.KubeObjects;

namespace FlowWatch.Tests.Kube;

/// <summary>
/// The EKS asymmetric-path incident end to end over the fake API server: a CiliumNode with a primary and a secondary
/// ENI, two pods of one workload, one on each. Replies from the pod on the secondary ENI to a peered range leave by
/// the primary and die. The ENI placement reaches the asymmetric-path detector through the real watcher and a
/// pipeline running <see cref="DetectorSet"/>; IP-only flows are named from the watcher's view.
/// </summary>
public sealed class EniScenarioTests
{
    private const string Ns = "payments";
    private const string PodS = "ledger-6d5f7c8b9-sssss", PodP = "ledger-6d5f7c8b9-ppppp";
    private const string PrimaryEni = "eni-0a1b2c3d4e5f60001", SecondaryEni = "eni-0a1b2c3d4e5f60002";
    private const string PeeredRange = "172.31.8.0/24", VpcRange = "10.0.50.0/24";
    private static readonly Side S = ClusterPipeline.PodAt("10.0.2.30", 8443);
    private static readonly Side P = ClusterPipeline.PodAt("10.0.1.20", 8443);

    private static Side Peered(int i) => TcpFlows.Client($"172.31.8.{10 + i % 200}", (ushort)(40000 + i));
    private static Side InVpc(int i) => TcpFlows.Client($"10.0.50.{10 + i % 200}", (ushort)(41000 + i));

    private static void Seed(FakeApiServer api)
    {
        api.Nodes.Put(Node("ip-10-0-1-10", "10.0.1.10"));
        api.CiliumNodes.Put(CiliumNode("ip-10-0-1-10",
            (PrimaryEni, 0, ["10.0.1.10", P.Ip.ToString()]),
            (SecondaryEni, 1, ["10.0.2.11", S.Ip.ToString()])));
        api.Pods.Put(Pod(Ns, PodS, "ip-10-0-1-10", S.Ip.ToString(), T0.AddMinutes(-30), owner: "ledger-6d5f7c8b9"));
        api.Pods.Put(Pod(Ns, PodP, "ip-10-0-1-10", P.Ip.ToString(), T0.AddMinutes(-30), owner: "ledger-6d5f7c8b9"));
    }

    /// <summary>Every 2 s for 40 s: a peered client to S (reply lost) and to P (completes); an in-VPC client to both (completes).</summary>
    private static void Traffic(ClusterPipeline p)
    {
        var i = 0;
        for (var t = 0.0; t < 40; t += 2, i++)
        {
            p.ReplyLost(t, Peered(2 * i), S);
            p.Completed(t + 0.5, Peered(2 * i + 1), P);
            p.Completed(t + 1, InVpc(2 * i), S);
            p.Completed(t + 1.5, InVpc(2 * i + 1), P);
        }
    }

    [Fact]
    public async Task TwoEnis_PodOnTheSecondary_GetsTheCriticalFinding_ItsSiblingOnThePrimaryNone()
    {
        await using var h = await KubeHarness.StartAsync(Seed);
        h.Run();
        await h.SyncedAsync();
        await Eventually.True(() => h.Events.Count(e => e is EniAddressState) == 4 &&
            h.View.TryGetPodByIp(S.Ip, out _) && h.View.TryGetPodByIp(P.Ip, out _), "both ENIs' addresses and both pods in the view");
        using var p = new ClusterPipeline(h);
        Assert.True(p.Drain() > 0);

        Traffic(p);
        p.AdvanceTo(60);   // past the handshake timeout of the last lost reply

        var asymmetric = p.Findings.Where(f => f.Kind == FindingKind.AsymmetricPath).ToList();
        Assert.NotEmpty(asymmetric);
        Assert.All(asymmetric, f => Assert.Equal((Ns, PodS, PeeredRange), (f.Subject.Namespace, f.Subject.Pod, f.Subject.PeerRange)));
        var f = asymmetric[^1];
        Assert.Equal(FindingState.Open, f.State);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Equal(1, f.Evidence["secondary_eni"]);
        Assert.Equal(95, f.Evidence["confidence_pct"]);
        Assert.Equal(20, f.Evidence["reply_lost"]);
        Assert.Equal(20, f.Evidence["other_ranges_completed"]);
        Assert.Contains($"{S.Ip} is on secondary interface {SecondaryEni} of ip-10-0-1-10", f.Summary);
        Assert.Contains(VpcRange, f.Summary);
        Assert.Equal(("ledger", S.Ip.ToString(), "ip-10-0-1-10"), (f.Subject.Workload, f.Subject.Ip, f.Subject.Node));

        // P saw the same peered clients and every handshake completed: nothing on it, from any range.
        Assert.DoesNotContain(p.Findings, x => x.Subject.Pod == PodP);
        var gauge = p.Metric("flowwatch_asymmetric_paths", ("namespace", Ns), ("workload", "ledger"), ("peer_range", PeeredRange));
        Assert.Equal(1, gauge);
    }
}
