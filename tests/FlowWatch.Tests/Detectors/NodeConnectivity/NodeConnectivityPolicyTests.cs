using FlowWatch.Detectors.NodeConnectivity;

namespace FlowWatch.Tests.Detectors.NodeConnectivity;

/// <summary>The pure verdict: counts in, verdict out.</summary>
public sealed class NodeConnectivityPolicyTests
{
    private static readonly NodeConnectivityOptions O = new();

    private static NodeCounts Collapsed => new(InTotal: 40, InFailed: 36, OutTotal: 30, OutFailed: 27, FailingWorkloads: 4, ActiveWorkloads: 4,
        FailingPeers: 12, ElsewhereTotal: 500, ElsewhereFailed: 5);

    [Fact]
    public void MostHandshakesFailing_BothWays_AcrossWorkloadsAndPeers_WithTheRestHealthy_IsCollapsed() =>
        Assert.Equal(NodeVerdict.Collapsed, NodeConnectivityPolicy.Judge(Collapsed, O, open: false));

    [Fact]
    public void TooFewHandshakes_IsNoTraffic() =>
        Assert.Equal(NodeVerdict.NoTraffic, NodeConnectivityPolicy.Judge(Collapsed with { InTotal = 8, InFailed = 8, OutTotal = 8, OutFailed = 8 }, O, false));

    [Fact]
    public void OnlyOneDirectionFailing_IsNotTheNode() =>
        Assert.Equal(NodeVerdict.Connected, NodeConnectivityPolicy.Judge(Collapsed with { InTotal = 60, InFailed = 60, OutFailed = 0 }, O, false));

    [Fact]
    public void OneFailingWorkload_IsNotTheNode() =>
        Assert.Equal(NodeVerdict.Connected, NodeConnectivityPolicy.Judge(Collapsed with { FailingWorkloads = 1 }, O, false));

    [Fact]
    public void FailingWorkloadsBeingAMinority_IsNotTheNode() =>
        Assert.Equal(NodeVerdict.Connected, NodeConnectivityPolicy.Judge(Collapsed with { FailingWorkloads = 2, ActiveWorkloads = 6 }, O, false));

    [Fact]
    public void FewPeers_IsNotTheNode() =>
        Assert.Equal(NodeVerdict.Connected, NodeConnectivityPolicy.Judge(Collapsed with { FailingPeers = 2 }, O, false));

    [Fact]
    public void TheRestOfTheClusterFailingToo_IsNotOneNode() =>
        Assert.Equal(NodeVerdict.Connected, NodeConnectivityPolicy.Judge(Collapsed with { ElsewhereFailed = 200 }, O, false));

    [Fact]
    public void NoOtherNodeToCompareWith_IsNoVerdictOfCollapse() =>
        Assert.Equal(NodeVerdict.Connected, NodeConnectivityPolicy.Judge(Collapsed with { ElsewhereTotal = 0, ElsewhereFailed = 0 }, O, false));

    [Fact]
    public void NoOtherNodeToCompareWith_ButAHealthyPastAndPeersOnSeveralNodes_IsCollapsed() =>
        Assert.Equal(NodeVerdict.Collapsed, NodeConnectivityPolicy.Judge(
            Collapsed with { ElsewhereTotal = 0, ElsewhereFailed = 0, PastTotal = 600, PastFailed = 6, FailingPeerNodes = 3 }, O, false));

    [Fact]
    public void NoOtherNodeToCompareWith_AndAPastThatFailedToo_IsNotACollapse() =>
        Assert.Equal(NodeVerdict.Connected, NodeConnectivityPolicy.Judge(
            Collapsed with { ElsewhereTotal = 0, ElsewhereFailed = 0, PastTotal = 600, PastFailed = 400, FailingPeerNodes = 3 }, O, false));

    [Fact]
    public void NoOtherNodeToCompareWith_AndPeersOnOneNodeOnly_CannotTellWhichNodeIsBroken() =>
        Assert.Equal(NodeVerdict.Connected, NodeConnectivityPolicy.Judge(
            Collapsed with { ElsewhereTotal = 0, ElsewhereFailed = 0, PastTotal = 600, PastFailed = 6, FailingPeerNodes = 1 }, O, false));

    [Fact]
    public void TheRestOfTheClusterFailing_IsNotOneNode_EvenWithAHealthyPast() =>
        Assert.Equal(NodeVerdict.Connected, NodeConnectivityPolicy.Judge(
            Collapsed with { ElsewhereFailed = 200, PastTotal = 600, PastFailed = 6, FailingPeerNodes = 3 }, O, false));

    [Fact]
    public void AnOpenCollapse_HoldsBetweenTheRatios_AndEndsUnderTheRecoveryRatio()
    {
        var between = new NodeCounts(40, 14, 30, 10, 1, 4, 3, 500, 5); // 34% failing: under the collapse ratio, over recovery
        Assert.Equal(NodeVerdict.Connected, NodeConnectivityPolicy.Judge(between, O, open: false));
        Assert.Equal(NodeVerdict.Collapsed, NodeConnectivityPolicy.Judge(between, O, open: true));
        var recovered = new NodeCounts(40, 2, 30, 1, 0, 4, 1, 500, 5);
        Assert.Equal(NodeVerdict.Connected, NodeConnectivityPolicy.Judge(recovered, O, open: true));
    }
}
