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
    [InlineData("identity", "-1", "security identity")]
    [InlineData("to_identity", "world", "security identity")]
    [InlineData("type", "tracing", "not an event type")]
    [InlineData("type", "trace:to-nowhere", "not an event type")]
    [InlineData("namesapce", "shop", "unknown parameter")]
    [InlineData("label", "app=(web", "label selector")]
    [InlineData("from_label", "app in web", "label selector")]
    [InlineData("to_label", "!app=web", "label selector")]
    [InlineData("label", "", "is empty")]
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

    [Theory]
    [InlineData("trace", 4, null)]
    [InlineData("trace:to-endpoint", 4, 0)]
    [InlineData("trace:from-network", 4, 10)]
    [InlineData("drop", 1, null)]
    [InlineData("drop:133", 1, 133)]
    [InlineData("policy-verdict", 5, null)]
    [InlineData("l7", 129, null)]
    [InlineData("130", 130, null)]
    public void EventType_TakesHubblesTypeNames(string text, int type, int? subType)
    {
        var q = Parse(("type", text));
        Assert.Equal((byte)type, q.EventType);
        Assert.Equal(subType is null ? null : (byte?)subType, q.EventSubType);
    }

    [Fact]
    public void Identities_AndFormat_BecomeTheQuery()
    {
        var q = Parse(("identity", "2"), ("from_identity", "1"), ("to_identity", "34629"), ("format", "jsonpb"));
        Assert.Equal(2u, q.Identity);
        Assert.Equal(1u, q.FromIdentity);
        Assert.Equal(34629u, q.ToIdentity);
        Assert.Equal(FlowAnswerFormat.Jsonpb, QueryParameters.ParseFormat(n => n == "format" ? "json" : null));
        Assert.Equal(FlowAnswerFormat.Api, QueryParameters.ParseFormat(_ => null));
        Assert.Equal("format", Assert.Throws<BadParameterException>(() => QueryParameters.ParseFormat(_ => "yaml")).Parameter);
    }
}
