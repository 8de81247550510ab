using FlowWatch.Flows;

namespace FlowWatch.Tests.Flows;

public sealed class IpAddrTests
{
    [Theory]
    [InlineData("10.1.3.77")]
    [InlineData("0.0.0.0")]
    [InlineData("255.255.255.255")]
    [InlineData("fe80::64d8:8aff:fe72:fc14")]
    [InlineData("2001:db8::1")]
    public void RoundTrips(string text)
    {
        Assert.True(IpAddr.TryParse(text, out var ip));
        Assert.Equal(text, ip.ToString());
        Assert.Equal(System.Net.IPAddress.Parse(text), ip.ToIPAddress());
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.1.3")]
    [InlineData("10.1.3.256")]
    [InlineData("10.1.3.7.1")]
    [InlineData("10..3.7")]
    [InlineData("hello")]
    public void RejectsGarbage(string text) => Assert.False(IpAddr.TryParse(text, out _));

    [Fact]
    public void V4AndV6AreDistinct()
    {
        var v4 = IpAddr.Parse("10.0.0.1");
        Assert.True(v4.IsV4);
        Assert.False(IpAddr.Parse("::a00:1").IsV4);
        Assert.NotEqual(v4, IpAddr.Parse("::a00:1"));
    }

    [Theory]
    [InlineData("172.31.0.0/16", "172.31.200.9", true)]
    [InlineData("172.31.0.0/16", "172.32.0.1", false)]
    [InlineData("10.1.3.0/24", "10.1.3.255", true)]
    [InlineData("0.0.0.0/0", "8.8.8.8", true)]
    [InlineData("10.0.0.0/8", "fe80::1", false)]
    [InlineData("2001:db8::/32", "2001:db8:ffff::1", true)]
    [InlineData("2001:db8::/32", "2001:db9::1", false)]
    public void PrefixContains(string prefix, string ip, bool expected) =>
        Assert.Equal(expected, IpPrefix.Parse(prefix).Contains(IpAddr.Parse(ip)));

    [Fact]
    public void PrefixOf_MasksHostBits()
    {
        Assert.Equal("172.31.200.0/24", IpPrefix.Of(IpAddr.Parse("172.31.200.9"), 24).ToString());
        Assert.False(IpPrefix.TryParse("10.0.0.0/33", out _));
        Assert.False(IpPrefix.TryParse("10.0.0/8", out _));
    }
}
