using FlowWatch.Api;
using FlowWatch.Flows;

namespace FlowWatch.Tests.Api;

/// <summary>Flow query parameters: good ones become a query; each bad one is named with what is wrong.</summary>
public sealed class QueryParametersTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static FlowWatch.Store.FlowQuery Parse(params (string Name, string Value)[] ps) =>
        QueryParameters.ParseFlows(name => ps.Where(p => p.Name == name).Select(p => p.Value).FirstOrDefault(), ps.Select(p => p.Name), Now);

    [Fact]
    public void GoodParameters_BecomeTheQuery()
    {
        var q = Parse(("namespace", "shop"), ("pod", "cart-1"), ("ip", "10.1.2.3"), ("port", "53"), ("verdict", "DROPPED"),
            ("reason", "POLICY_DENIED"), ("since", "5m"), ("until", "2026-12-01T11:59:00Z"), ("limit", "7"), ("cursor", "99"));
        Assert.Equal("shop", q.Namespace);
        Assert.Equal("cart-1", q.Pod);
        Assert.Equal(IpAddr.Parse("10.1.2.3"), q.Ip);
        Assert.Equal(53, q.Port);
        Assert.Equal(Verdict.Dropped, q.Verdict);
        Assert.Equal(133, q.DropReason);
        Assert.Equal(FlowRecord.ToNanos(Now.AddMinutes(-5)), q.SinceNanos);
        Assert.Equal(FlowRecord.ToNanos(Now.AddMinutes(-1)), q.UntilNanos);
        Assert.Equal(7, q.Limit);
        Assert.Equal(99, q.Before);
    }

    [Theory]
    [InlineData("verdict", "dropd", "not a verdict")]
    [InlineData("ip", "10.1.2", "not an IPv4 or IPv6 address")]
    [InlineData("port", "70000", "from 0 to 65535")]
    [InlineData("limit", "0", "from 1 to 10000")]
    [InlineData("limit", "lots", "not a whole number")]
    [InlineData("since", "yesterday", "RFC 3339")]
    [InlineData("until", "12:00", "RFC 3339")]
    [InlineData("reason", "NOT_A_REASON", "drop reason")]
    [InlineData("cursor", "-4", "flow id")]
    [InlineData("namespace", "", "is empty")]
    [InlineData("namesapce", "shop", "unknown parameter")]
    public void BadParameter_IsNamed_WithWhatIsWrong(string name, string value, string says)
    {
        var e = Assert.Throws<BadParameterException>(() => Parse((name, value)));
        Assert.Equal(name, e.Parameter);
        Assert.Contains(says, e.Message);
        Assert.StartsWith(name, e.Message);
    }

    [Fact]
    public void SinceAfterUntil_IsRejected()
    {
        var e = Assert.Throws<BadParameterException>(() => Parse(("since", "1m"), ("until", "5m")));
        Assert.Equal("since", e.Parameter);
    }

    [Fact]
    public void CursorAndAfter_AreRejectedTogether()
    {
        var e = Assert.Throws<BadParameterException>(() => Parse(("cursor", "5"), ("after", "3")));
        Assert.Contains("not both", e.Message);
    }
}
