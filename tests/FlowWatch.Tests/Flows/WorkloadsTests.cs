using FlowWatch.Flows;

namespace FlowWatch.Tests.Flows;

public sealed class WorkloadsTests
{
    [Theory]
    [InlineData("deathstar-7848d6c4d5-th9v2", "deathstar")]
    [InlineData("curl-7d4d858f75-j76f7", "curl")]
    [InlineData("web-0", "web")]
    [InlineData("kube-dns-b4f5c58c7-vnx5s", "kube-dns")]
    [InlineData("node-local-dns-88zrp", "node-local-dns")]
    [InlineData("xwing", "xwing")]
    [InlineData("storefront-5rckprccpn-xk2qb", "storefront")]
    [InlineData("storefront-bcdfghjklm-x2x4z", "storefront")] // a pod-template-hash need not hold a digit
    [InlineData("web-rhythm-x2x4z", "web-rhythm")] // a word of 6+ letters is no hash: it has letters Kubernetes never generates
    [InlineData("storefront-5rckprccpn-b", "storefront-5rckprccpn-b")] // no generated suffix: the guess keeps the name
    [InlineData("", "")]
    public void FromPodName(string pod, string workload) => Assert.Equal(workload, Workloads.FromPodName(pod));

    [Fact]
    public void AppLabelWinsOverPodName() =>
        Assert.Equal("reviews", Workloads.Infer("reviews-v2-7bf8c9648f-r7bs2", ["k8s:version=v2", "k8s:app=reviews"]));
}
