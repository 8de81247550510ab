using FlowWatch.Findings;

namespace FlowWatch.Tests.Clusters;

/// <summary>Copies of one finding from node shards become one: flow counts add up, shares and cluster facts do not.</summary>
public sealed class FindingMergeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static Finding Copy(Severity severity, FindingState state, DateTimeOffset first, DateTimeOffset last, string summary,
        params (string Key, long Value)[] evidence) =>
        new("backend_unhealthy/web/storefront/sf-b", FindingKind.BackendUnhealthy, severity, state, new FindingSubject(Namespace: "web", Pod: "sf-b"),
            evidence.ToDictionary(e => e.Key, e => e.Value), first, last, summary, []) { Cluster = "prod-eu" };

    [Fact]
    public void FlowCountsAdd_SharesAndClusterFactsTakeTheLargest_TimesSpanBoth_WorstOpenSeverity()
    {
        var a = Copy(Severity.Warning, FindingState.Open, T0, T0.AddMinutes(5), "a",
            ("handshakes", 40), ("refused", 10), ("failure_pct", 25), ("siblings", 2), ("ready_but_failing", 1));
        var b = Copy(Severity.Critical, FindingState.Open, T0.AddMinutes(1), T0.AddMinutes(9), "b",
            ("handshakes", 60), ("refused", 45), ("failure_pct", 75), ("siblings", 2), ("ready_but_failing", 1));
        var m = FindingMerge.Merge([a, b]);
        Assert.Equal(new Dictionary<string, long>
        {
            ["handshakes"] = 100, ["refused"] = 55, ["failure_pct"] = 75, ["siblings"] = 2, ["ready_but_failing"] = 1,
        }, m.Evidence);
        Assert.Equal((T0, T0.AddMinutes(9)), (m.FirstSeen, m.LastSeen));
        Assert.Equal(Severity.Critical, m.Severity);
        Assert.Equal(FindingState.Open, m.State);
        Assert.Equal("b", m.Summary);
    }

    [Fact]
    public void OpenWhileAnyCopyIsOpen_ItsSeverityNotTheResolvedOnes()
    {
        var resolved = Copy(Severity.Critical, FindingState.Resolved, T0, T0.AddMinutes(9), "resolved");
        var open = Copy(Severity.Warning, FindingState.Open, T0, T0.AddMinutes(3), "open");
        var m = FindingMerge.Merge([resolved, open]);
        Assert.Equal((FindingState.Open, Severity.Warning), (m.State, m.Severity));
    }

    [Fact]
    public void MergeAll_KeepsClustersAndIdsApart()
    {
        var eu = Copy(Severity.Warning, FindingState.Open, T0, T0, "eu", ("handshakes", 1));
        var us = eu with { Cluster = "prod-us" };
        var other = eu with { Id = "backend_unhealthy/web/storefront/sf-c" };
        var merged = FindingMerge.MergeAll([eu, us, other, eu]);
        Assert.Equal(3, merged.Count);
        Assert.Equal(2, merged.Single(f => f.Cluster == "prod-eu" && f.Id.EndsWith("sf-b", StringComparison.Ordinal)).Evidence["handshakes"]);
        Assert.Throws<ArgumentException>(() => FindingMerge.Merge([eu, us]));
    }
}
