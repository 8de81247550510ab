using System.Text.RegularExpressions;
using FlowWatch.Detectors.Dns;
using FlowWatch.Findings;
using FlowWatch.Flows;
using static FlowWatch.Tests.Detectors.Dns.DnsFlows;

namespace FlowWatch.Tests.Detectors.Dns;

public class DnsDropDetectorTests
{
    private static readonly FlowEndpoint Checkout = Pod("shop", "checkout");
    private static readonly IpAddr CheckoutIp = IpAddr.Parse("10.1.2.21");
    private static readonly FlowEndpoint Cart = Pod("shop", "cart", "6b9f7c4d8e-qx2lp");
    private static readonly IpAddr CartIp = IpAddr.Parse("10.1.2.22");
    private static readonly FlowEndpoint Frontend = Pod("web", "frontend", "5c6d7e8f9a-zz9kk");
    private static readonly IpAddr FrontendIp = IpAddr.Parse("10.1.3.30");
    private const string CheckoutId = "dns_drops/shop/checkout";

    [Fact]
    public void NxDomain_IsCountedAsAnswer_NotAsDrop()
    {
        using var h = new DnsHarness(new DnsDropOptions { MinDrops = 1 });
        for (var i = 0; i < 20; i++)
        {
            h.Push(Request(h.At(i), Checkout, CheckoutIp, "missing.shop.svc.cluster.local."));
            h.Push(Response(h.At(i + 0.002), Checkout, CheckoutIp, "missing.shop.svc.cluster.local.", 3));
        }
        // An NXDOMAIN whose request was not seen (recording started late) is an answer too.
        h.Push(Response(h.At(30), Checkout, CheckoutIp, "other.example.", 3));
        h.AdvanceTo(60);

        Assert.Equal(21, h.Answers("shop", "checkout", "nxdomain"));
        Assert.Equal(0, h.TotalDropped());
        Assert.Empty(h.Findings);
        Assert.Equal(0, h.PendingGauge);
    }

    [Fact]
    public void RefusedAfterDroppedRequest_CountsOneDenial()
    {
        using var h = new DnsHarness();
        h.Push(Request(h.At(1), Checkout, CheckoutIp, "api.payments-partner.example.", Verdict.Dropped));
        h.Push(Response(h.At(1.001), Checkout, CheckoutIp, "api.payments-partner.example.", 5));
        h.AdvanceTo(30);

        Assert.Equal(1, h.Dropped("shop", "checkout", "policy_denied_proxy"));
        Assert.Equal(1, h.Answers("shop", "checkout", "refused"));
        Assert.Equal(1, h.TotalDropped());
    }

    [Fact]
    public void RefusedBeforeDroppedRequest_AlsoCountsOneDenial()
    {
        using var h = new DnsHarness();
        h.Push(Response(h.At(1), Checkout, CheckoutIp, "api.payments-partner.example.", 5));
        h.Push(Request(h.At(1.001), Checkout, CheckoutIp, "api.payments-partner.example.", Verdict.Dropped));
        h.AdvanceTo(30);

        Assert.Equal(1, h.Dropped("shop", "checkout", "policy_denied_proxy"));
    }

    [Fact]
    public void RefusedWithoutSeenRequest_CountsAsProxyDenial()
    {
        using var h = new DnsHarness();
        h.Push(Response(h.At(1), Checkout, CheckoutIp, "api.payments-partner.example.", 5));
        h.Push(Response(h.At(2), Checkout, CheckoutIp, "api.payments-partner.example.", 5));
        h.AdvanceTo(30);

        Assert.Equal(2, h.Dropped("shop", "checkout", "policy_denied_proxy"));
    }

    [Fact]
    public void RefusedFromUpstream_ForAForwardedRequest_IsAnAnswer()
    {
        using var h = new DnsHarness();
        h.Push(Request(h.At(1), Checkout, CheckoutIp, "corp.internal.example."));
        h.Push(Response(h.At(1.01), Checkout, CheckoutIp, "corp.internal.example.", 5));
        h.AdvanceTo(30);

        Assert.Equal(1, h.Answers("shop", "checkout", "refused"));
        Assert.Equal(0, h.TotalDropped());
    }

    [Fact]
    public void DatapathDrop_IsCountedWithItsReason()
    {
        using var h = new DnsHarness();
        for (var i = 0; i < 6; i++) h.Push(DatapathDrop(h.At(i), Cart, CartIp, 133));
        h.Push(DatapathDrop(h.At(6), Cart, CartIp, 151, L4Protocol.Tcp));
        h.AdvanceTo(10);

        Assert.Equal(6, h.Dropped("shop", "cart", "datapath_policy_denied"));
        Assert.Equal(1, h.Dropped("shop", "cart", "datapath_other"));
        var f = h.Latest("dns_drops/shop/cart");
        Assert.NotNull(f);
        Assert.Equal(FindingState.Open, f.State);
        Assert.Equal(6, f.Evidence["datapath_policy_denied"]);
        Assert.Equal(1, f.Evidence["datapath_other"]);
        Assert.Contains("POLICY_DENIED", f.Summary);
        Assert.Contains("L3/L4 policy", f.Summary);
        Assert.Contains(f.Details, d => d.Contains("POLICY_DENIED (6)") && d.Contains("STALE_OR_UNROUTABLE_IP (1)"));
    }

    [Fact]
    public void PolicyVerdictEvents_AreNotCountedBesideTheDropEvent()
    {
        using var h = new DnsHarness();
        h.Push(DatapathDrop(h.At(1), Cart, CartIp, 133, eventType: CiliumEventTypes.PolicyVerdict));
        h.Push(DatapathDrop(h.At(1), Cart, CartIp, 133));
        h.AdvanceTo(5);

        Assert.Equal(1, h.Dropped("shop", "cart", "datapath_policy_denied"));
    }

    [Fact]
    public void RequestAnsweredWithinTimeout_IsNotNoAnswer()
    {
        using var h = new DnsHarness();
        h.Push(Request(h.At(0), Frontend, FrontendIp, "api.example.com."));
        h.AdvanceTo(4.9);
        h.Push(Response(h.At(4.9), Frontend, FrontendIp, "api.example.com.", 0));
        h.AdvanceTo(60);

        Assert.Equal(0, h.Dropped("web", "frontend", "no_answer"));
        Assert.Equal(1, h.Answers("web", "frontend", "noerror"));
        Assert.Equal(0, h.Detector.PendingRequests);
    }

    [Fact]
    public void RequestUnansweredPastTimeout_IsNoAnswer()
    {
        using var h = new DnsHarness();
        h.Push(Request(h.At(0), Frontend, FrontendIp, "api.example.com."));
        h.AdvanceTo(4.5);
        Assert.Equal(0, h.Dropped("web", "frontend", "no_answer"));
        Assert.Equal(1, h.PendingGauge);

        h.AdvanceTo(6);
        Assert.Equal(1, h.Dropped("web", "frontend", "no_answer"));
        Assert.Equal(0, h.PendingGauge);

        // The late answer is an answer, and does not un-count the timeout.
        h.Push(Response(h.At(7), Frontend, FrontendIp, "api.example.com.", 0));
        Assert.Equal(1, h.Dropped("web", "frontend", "no_answer"));
    }

    [Fact]
    public void AnswersMatchTheFirstPendingRequestOfThePodAndQuery()
    {
        using var h = new DnsHarness();
        h.Push(Request(h.At(0), Frontend, FrontendIp, "a.example."));
        h.Push(Request(h.At(3), Frontend, FrontendIp, "a.example."));
        h.Push(Response(h.At(4), Frontend, FrontendIp, "a.example.", 0));
        // Answers for another query or another pod do not match.
        h.Push(Response(h.At(4), Frontend, FrontendIp, "b.example.", 0));
        h.Push(Response(h.At(4), Checkout, CheckoutIp, "a.example.", 0));
        h.AdvanceTo(7);
        Assert.Equal(0, h.Dropped("web", "frontend", "no_answer"));
        h.AdvanceTo(9);
        Assert.Equal(1, h.Dropped("web", "frontend", "no_answer"));
    }

    [Fact]
    public void ConcurrentLookupsOfOneNameFromTwoSockets_EachAnswerMeetsItsOwnRequest()
    {
        using var h = new DnsHarness();
        h.Push(Request(h.At(0), Frontend, FrontendIp, "a.example.", sport: 41001));
        h.Push(Request(h.At(3), Frontend, FrontendIp, "a.example.", sport: 41002));
        // The answer goes back to the second socket: it is not the first lookup's answer.
        h.Push(Response(h.At(3.1), Frontend, FrontendIp, "a.example.", 0, dport: 41002));
        h.AdvanceTo(6);
        Assert.Equal(1, h.Dropped("web", "frontend", "no_answer"));
        Assert.Equal(0, h.Detector.PendingRequests);
        h.AdvanceTo(12);
        Assert.Equal(1, h.Dropped("web", "frontend", "no_answer"));
    }

    [Fact]
    public void ParallelAAndAaaaFromOneSocket_AreMatchedByQueryType()
    {
        using var h = new DnsHarness();
        h.Push(Request(h.At(0), Frontend, FrontendIp, "a.example.", qtype: "A"));
        h.Push(Request(h.At(3), Frontend, FrontendIp, "a.example.", qtype: "AAAA"));
        h.Push(Response(h.At(3.1), Frontend, FrontendIp, "a.example.", 0, qtype: "AAAA"));
        h.AdvanceTo(6);
        // The A lookup's timeout is due at 5 s whatever the AAAA answer says.
        Assert.Equal(1, h.Dropped("web", "frontend", "no_answer"));
        Assert.Equal(0, h.Detector.PendingRequests);

        // Both answered, in the other order: nothing lost.
        h.Push(Request(h.At(20), Frontend, FrontendIp, "b.example.", qtype: "A"));
        h.Push(Request(h.At(20.001), Frontend, FrontendIp, "b.example.", qtype: "AAAA"));
        h.Push(Response(h.At(20.01), Frontend, FrontendIp, "b.example.", 0, qtype: "AAAA"));
        h.Push(Response(h.At(20.02), Frontend, FrontendIp, "b.example.", 0, qtype: "A"));
        h.AdvanceTo(40);
        Assert.Equal(1, h.Dropped("web", "frontend", "no_answer"));
    }

    [Fact]
    public void ProxyDenials_OpenAFindingThatResolvesAfterTheQuietPeriod()
    {
        using var h = new DnsHarness(new DnsDropOptions { QuietPeriod = TimeSpan.FromMinutes(2) });
        for (var i = 0; i < 42; i++)
        {
            var name = i % 6 == 0 ? "telemetry.vendor.example." : "api.payments-partner.example.";
            h.Push(Request(h.At(i), Checkout, CheckoutIp, name, Verdict.Dropped));
            h.Push(Response(h.At(i + 0.001), Checkout, CheckoutIp, name, 5));
            // Healthy lookups alongside: the ratio matters for severity.
            h.Push(Request(h.At(i + 0.2), Checkout, CheckoutIp, "cart.shop.svc.cluster.local."));
            h.Push(Response(h.At(i + 0.201), Checkout, CheckoutIp, "cart.shop.svc.cluster.local.", 0));
        }
        h.AdvanceTo(43);

        var open = h.Latest(CheckoutId);
        Assert.NotNull(open);
        Assert.Equal(FindingState.Open, open.State);
        Assert.Equal(FindingKind.DnsDrops, open.Kind);
        Assert.Equal("shop", open.Subject.Namespace);
        Assert.Equal("checkout", open.Subject.Workload);
        Assert.Equal(42, open.Evidence["policy_denied_proxy"]);
        Assert.Equal(84, open.Evidence["lookups"]);
        Assert.Equal(Severity.Critical, open.Severity);
        Assert.StartsWith("shop/checkout: 42 DNS lookups denied by FQDN policy in the DNS proxy (top: api.payments-partner.example.)", open.Summary);
        Assert.Contains("toFQDNs", open.Summary);
        Assert.Contains(open.Details, d => d.StartsWith("top queried names: api.payments-partner.example. (35), telemetry.vendor.example. (7)"));
        Assert.Contains(open.Details, d => d.Contains(Checkout.Display));
        Assert.Equal(h.At(0), open.FirstSeen);
        Assert.Equal(1, h.Pipeline.Book.OpenFindings.Count);

        // The healthy lookups go on; the denials stop.
        for (var i = 44; i < 200; i += 5)
        {
            h.Push(Request(h.At(i), Checkout, CheckoutIp, "cart.shop.svc.cluster.local."));
            h.Push(Response(h.At(i + 0.001), Checkout, CheckoutIp, "cart.shop.svc.cluster.local.", 0));
        }
        h.AdvanceTo(200);

        var resolved = h.Latest(CheckoutId);
        Assert.Equal(FindingState.Resolved, resolved!.State);
        Assert.Empty(h.Pipeline.Book.OpenFindings);
        Assert.Equal(0, h.PendingGauge);
    }

    [Fact]
    public void FewerDropsThanMinDrops_RaiseNoFinding()
    {
        using var h = new DnsHarness(new DnsDropOptions { MinDrops = 5 });
        for (var i = 0; i < 4; i++) h.Push(DatapathDrop(h.At(i * 10), Cart, CartIp, 133));
        h.AdvanceTo(300);
        Assert.Empty(h.Findings);
        Assert.Equal(4, h.Dropped("shop", "cart", "datapath_policy_denied"));
    }

    [Fact]
    public void NoAnswers_OpenAFindingAndThePendingGaugeReturnsToZero()
    {
        using var h = new DnsHarness();
        for (var i = 0; i < 8; i++) h.Push(Request(h.At(i * 0.5), Frontend, FrontendIp, $"svc{i % 2}.example.org.", sport: (ushort)(50000 + i)));
        h.AdvanceTo(4.0);
        Assert.Equal(8, h.PendingGauge);

        h.AdvanceTo(12);
        Assert.Equal(0, h.PendingGauge);
        var f = h.Latest("dns_drops/web/frontend");
        Assert.NotNull(f);
        Assert.Equal(FindingState.Open, f.State);
        Assert.Equal(8, f.Evidence["no_answer"]);
        Assert.Contains("no answer within 5 s", f.Summary);
        Assert.Contains("kube-dns", f.Summary);

        h.AdvanceTo(12 + 150);
        Assert.Equal(FindingState.Resolved, h.Latest("dns_drops/web/frontend")!.State);
        Assert.Equal(0, h.PendingGauge);
    }

    [Fact]
    public void EveryScenarioWorkload_GetsItsOwnFindingWithItsOwnCause()
    {
        using var h = new DnsHarness();
        for (var i = 0; i < 20; i++)
        {
            h.Push(Request(h.At(i), Checkout, CheckoutIp, "api.payments-partner.example.", Verdict.Dropped));
            h.Push(Response(h.At(i + 0.001), Checkout, CheckoutIp, "api.payments-partner.example.", 5));
            h.Push(DatapathDrop(h.At(i + 0.1), Cart, CartIp, 133));
            h.Push(Request(h.At(i + 0.2), Frontend, FrontendIp, "search.example.org."));
        }
        h.AdvanceTo(40);

        Assert.Contains("FQDN policy", h.Latest(CheckoutId)!.Summary);
        Assert.Contains("L3/L4 policy", h.Latest("dns_drops/shop/cart")!.Summary);
        Assert.Contains("no answer", h.Latest("dns_drops/web/frontend")!.Summary);
        Assert.Equal(3, h.Pipeline.Book.OpenFindings.Count);
    }

    [Fact]
    public void MetricLabels_NeverCarryIpsQueryNamesOrPodNames()
    {
        using var h = new DnsHarness(new DnsDropOptions { MinDrops = 1 });
        var names = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            var pod = Pod("shop", $"w{i % 7}", $"7d4d858f75-p{i:0000}");
            var ip = IpAddr.FromV4(10, 1, 4, (byte)i);
            var q = $"host{i}.example.com.";
            names.Add(pod.Pod);
            names.Add(q);
            h.Push(Request(h.At(i), pod, ip, q, i % 3 == 0 ? Verdict.Dropped : Verdict.Forwarded));
            if (i % 3 == 1) h.Push(Response(h.At(i + 0.01), pod, ip, q, i % 2 == 0 ? 0 : 3));
            h.Push(DatapathDrop(h.At(i + 0.1), pod, ip, 133));
            // A host-network client (no pod) has an IP but must be labelled by its reserved identity.
            h.Push(DatapathDrop(h.At(i + 0.2), new FlowEndpoint(1, "", "", "", ""), IpAddr.FromV4(10, 0, 0, (byte)(i + 1)), 133));
        }
        h.AdvanceTo(60);

        var text = MetricText.Export(h.Registry);
        var series = text.Split('\n').Where(l => l.StartsWith("flowwatch_dns_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(series);
        var ipLike = new Regex(@"\d+\.\d+\.\d+\.\d+|:[0-9a-f]*:");
        foreach (var line in series)
            foreach (var (label, value) in MetricText.Labels(line))
            {
                Assert.DoesNotMatch(ipLike, value);
                Assert.DoesNotContain(value, names);
                Assert.DoesNotContain(".", value);
            }
        Assert.True(h.Dropped("unknown", "host", "datapath_policy_denied") > 0);
    }

    [Fact]
    public void WorkloadLabels_AreBounded_AndTheOverflowIsCounted()
    {
        using var h = new DnsHarness(new DnsDropOptions { MaxWorkloadLabels = 3 });
        for (var i = 0; i < 10; i++)
            h.Push(DatapathDrop(h.At(i), Pod("shop", $"app{i}"), IpAddr.FromV4(10, 1, 5, (byte)i), 133));
        h.Push(DatapathDrop(h.At(11), Pod("brand-new-ns", "app"), IpAddr.FromV4(10, 1, 6, 1), 133));
        h.AdvanceTo(20);

        var text = MetricText.Export(h.Registry);
        var workloads = MetricText.Series(text, "flowwatch_dns_lookups_dropped_total")
            .Select(l => MetricText.Labels(l)).Select(l => (l["namespace"], l["workload"])).Distinct().ToList();
        Assert.Equal(5, workloads.Count);
        Assert.Equal(7, h.Dropped("shop", "other", "datapath_policy_denied"));
        Assert.Equal(1, h.Dropped("other", "other", "datapath_policy_denied"));
        Assert.Equal(8, MetricText.Value(h.Registry, "flowwatch_dns_evicted_total", ("reason", "workload_labels")));
    }

    [Fact]
    public void PendingRequests_AreBounded_AndEvictionsCounted()
    {
        using var h = new DnsHarness(new DnsDropOptions { MaxPendingRequests = 10 });
        for (var i = 0; i < 50; i++)
            h.Push(Request(h.At(i * 0.01), Frontend, FrontendIp, $"q{i}.example.org."));
        Assert.True(h.Detector.QueuedRequests <= 10);
        Assert.Equal(10, h.Detector.PendingRequests);
        Assert.Equal(40, h.Detector.EvictedPending);
        Assert.Equal(40, MetricText.Value(h.Registry, "flowwatch_dns_evicted_total", ("reason", "pending_full")));
        h.AdvanceTo(20);
        // Only the ten still tracked can time out; the evicted ones are shed, not guessed at.
        Assert.Equal(10, h.Dropped("web", "frontend", "no_answer"));
    }

    [Fact]
    public void TrackedWorkloadsAndPods_AreBounded_AndEvictionsCounted()
    {
        using var h = new DnsHarness(new DnsDropOptions { MaxTrackedWorkloads = 5, MaxTrackedPods = 8 });
        for (var i = 0; i < 40; i++)
            h.Push(DatapathDrop(h.At(i * 0.1), Pod("shop", $"app{i}", $"7d4d858f75-a{i:0000}"), IpAddr.FromV4(10, 1, 7, (byte)i), 133));
        Assert.Equal(5, h.Detector.TrackedWorkloads);
        Assert.Equal(35, h.Detector.EvictedWorkloads);
        Assert.Equal(8, h.Detector.TrackedPods);
        Assert.Equal(32, h.Detector.EvictedPods);
        Assert.Equal(35, MetricText.Value(h.Registry, "flowwatch_dns_evicted_total", ("reason", "workloads_full")));
        Assert.Equal(32, MetricText.Value(h.Registry, "flowwatch_dns_evicted_total", ("reason", "pods_full")));

        // Quiet state expires on its own.
        h.AdvanceTo(3600);
        Assert.Equal(0, h.Detector.TrackedWorkloads);
        Assert.Equal(0, h.Detector.TrackedPods);
    }

    [Fact]
    public void PodInsight_ReportsRecentCountsPerPod()
    {
        using var h = new DnsHarness();
        h.Push(Request(h.At(0), Frontend, FrontendIp, "a.example."));
        h.Push(Response(h.At(0.01), Frontend, FrontendIp, "a.example.", 0));
        h.Push(Request(h.At(1), Frontend, FrontendIp, "b.example."));
        h.Push(Response(h.At(1.01), Frontend, FrontendIp, "b.example.", 3));
        h.Push(Request(h.At(2), Frontend, FrontendIp, "c.example."));
        h.Push(Request(h.At(3), Frontend, FrontendIp, "blocked.example.", Verdict.Dropped));
        h.AdvanceTo(10);

        Assert.Equal("dns", h.Detector.Section);
        Assert.True(h.Detector.KnowsPod("web", Frontend.Pod));
        Assert.False(h.Detector.KnowsPod("web", "nobody"));
        var report = Assert.IsType<DnsPodReport>(h.Detector.DescribePod("web", Frontend.Pod));
        Assert.Equal(4, report.Requests);
        Assert.Equal(1, report.Answers["noerror"]);
        Assert.Equal(1, report.Answers["nxdomain"]);
        Assert.Equal(1, report.Drops["no_answer"]);
        Assert.Equal(1, report.Drops["policy_denied_proxy"]);

        // Past the window the counts age out (and the pod is forgotten).
        h.AdvanceTo(10 + 11 * 60);
        Assert.Null(h.Detector.DescribePod("web", Frontend.Pod));
    }

    [Fact]
    public void Options_RejectSettingsThatCannotWork()
    {
        Assert.Throws<ArgumentException>(() => new DnsDropDetector(new DnsDropOptions { NoAnswerTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => new DnsDropDetector(new DnsDropOptions { MaxPendingRequests = 0 }));
        Assert.Throws<ArgumentException>(() => new DnsDropDetector(new DnsDropOptions { MinDrops = 10, CriticalDrops = 5 }));
    }
}
