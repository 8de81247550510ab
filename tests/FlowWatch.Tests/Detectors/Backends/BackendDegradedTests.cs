using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Kubernetes;
using FlowWatch.Tests.Detectors.Handshakes;
using Xunit.Abstractions;
using static FlowWatch.Tests.Detectors.Handshakes.HandshakeHarness;
using static FlowWatch.Tests.Detectors.Handshakes.TcpFlows;

namespace FlowWatch.Tests.Detectors.Backends;

/// <summary>A NodePort backend that fails part of the time among healthy siblings is degraded (Warning) and then, if it
/// fails enough, unhealthy (Critical), within a minute of event time at default settings; quiet or collectively failing
/// backends are not singled out.</summary>
public sealed class BackendDegradedTests(ITestOutputHelper output)
{
    private const double Onset = 120;
    private static readonly string[] Names = ["a", "b", "c", "d"];
    private static readonly Side[] Backends = Names.Select((n, i) => Server(Pod("web", "storefront", n), $"10.1.{i + 1}.2{i}", 8080)).ToArray();
    private const string IdB = "backend_unhealthy/web/storefront/storefront-6b9f7c-b";

    private static void ClusterState(HandshakeHarness h, IEnumerable<Side> backends)
    {
        h.Apply(new ServiceState("web", "storefront", "NodePort", [new ServicePortState("http", "TCP", 80, 30080, 8080)]));
        h.Apply(new ServiceBackendsState("web", "storefront",
            backends.Select((b, i) => new BackendState(b.Endpoint.Pod, b.Ip, $"node-{i + 1}", Ready: true)).ToArray()));
    }

    /// <summary>The SYN is delivered into the pod, which never answers; the client retransmits after 1 s and 3 s.</summary>
    private static void Unanswered(HandshakeHarness h, double t, Side client, Side server)
    {
        foreach (var retry in new[] { 0.0, 1.0, 3.0 })
            h.Push(FromClient(At(t + retry), client, server, TcpFlags.Syn));
    }

    /// <summary>Outside clients spread round-robin over the backends, one handshake per backend per second; from the
    /// onset, backends matching <paramref name="failing"/> leave the given share of theirs unanswered.</summary>
    private static void Traffic(HandshakeHarness h, double to, Func<int, bool> failing, double share)
    {
        var flows = new List<(double T, Side Client, Side Server, bool Fail)>();
        var n = 0;
        for (var t = 0.0; t < to; t += 1)
            for (var b = 0; b < Backends.Length; b++, n++)
            {
                var client = Client($"172.31.{8 + n % 2}.{1 + n % 250}", (ushort)(30000 + n % 30000));
                var fail = t >= Onset && failing(b) && (n / Backends.Length) % 20 < share * 20;
                flows.Add((t + b * 0.2, client, Backends[b], fail));
            }
        // Handshakes overlap in time (an unanswered one lasts 3 s), so push every flow in time order.
        var records = new List<FlowRecord>();
        var sink = new HandshakeHarness.Recorder(records);
        foreach (var (t, c, s, fail) in flows)
            if (fail) sink.Unanswered(t, c, s);
            else sink.Completed(t, c, s);
        foreach (var r in records.OrderBy(r => r.TimeNanos)) h.Push(r);
        h.AdvanceTo(to);
    }

    private void Report(HandshakeHarness h, string label)
    {
        foreach (var f in h.Findings.Where(f => f.Id == IdB))
            output.WriteLine($"{label}: +{(f.LastSeen - T0).TotalSeconds - Onset:F0} s after onset [{f.Severity}] {f.State} {f.Summary}");
    }

    [Theory]
    [InlineData(0.30)]
    [InlineData(0.45)]
    [InlineData(1.0)]
    public void APartlyFailingBackend_AmongHealthySiblings_IsDegradedWithinAMinute_AndUnhealthyWhenItFailsEnough(double share)
    {
        using var h = new HandshakeHarness();
        ClusterState(h, Backends);
        Traffic(h, Onset + 90, b => b == 1, share);
        Report(h, $"{share:P0} failing");

        var first = h.Findings.FirstOrDefault(f => f.Id == IdB && f.State == FindingState.Open);
        Assert.True(first is not null, "no finding for the failing backend");
        var firstAt = (first.LastSeen - T0).TotalSeconds - Onset;
        Assert.InRange(firstAt, 0, 60);
        Assert.Equal(Severity.Warning, first.Severity);
        Assert.Contains("degraded", first.Summary);
        Assert.Contains("timed out (SYN delivered, never answered)", first.Summary);
        if (share >= 0.5)
        {
            var critical = h.Findings.FirstOrDefault(f => f.Id == IdB && f.Severity == Severity.Critical);
            Assert.True(critical is not null, "a backend failing every handshake never became unhealthy");
            Assert.InRange((critical.LastSeen - T0).TotalSeconds - Onset, firstAt, 60);
        }
        else Assert.DoesNotContain(h.Findings, f => f.Severity == Severity.Critical);
        Assert.DoesNotContain(h.Findings, f => f.Id != IdB);
    }

    [Fact]
    public void AJustScaledUpBackend_WithLittleTraffic_IsNeverCalledUnhealthy()
    {
        var fresh = Server(Pod("web", "storefront", "e"), "10.1.5.30", 8080);
        using var h = new HandshakeHarness();
        ClusterState(h, Backends.Append(fresh));
        Traffic(h, Onset, _ => false, 0);
        // Three handshakes in its first minute, one of them unanswered.
        Unanswered(h, Onset + 1, Client("172.31.8.200", 50001), fresh);
        h.Completed(Onset + 20, Client("172.31.8.201", 50002), fresh);
        h.Completed(Onset + 40, Client("172.31.8.202", 50003), fresh);
        h.AdvanceTo(Onset + 60);
        Assert.Empty(h.Findings);
        var state = h.Backends.DescribeService("web", "storefront")!.Single(b => b.Pod == fresh.Endpoint.Pod).State;
        Assert.NotEqual("unhealthy", state);
    }

    [Fact]
    public void WhenEverySiblingFailsToo_NoBackendIsSingledOut()
    {
        using var h = new HandshakeHarness();
        ClusterState(h, Backends);
        Traffic(h, Onset + 90, _ => true, 0.3);
        Assert.Empty(h.Findings);

        using var all = new HandshakeHarness();
        ClusterState(all, Backends);
        Traffic(all, Onset + 90, _ => true, 1.0);
        // Every backend fails: each is unhealthy, but none is paged as the one to blame.
        Assert.DoesNotContain(all.Findings, f => f.Severity == Severity.Critical);
        Assert.All(all.Findings, f => Assert.Contains("none of its 3 siblings is healthy", f.Summary));
    }
}
