using FlowWatch.Simulation;

namespace FlowWatch.Tests.Simulation;

public sealed class ScenarioSetTests
{
    [Theory]
    [InlineData("dns-drops", Scenario.DnsDrops)]
    [InlineData("duplicate-ip,asymmetric", Scenario.DuplicateIp | Scenario.Asymmetric)]
    [InlineData(" Nodeport-Backend , dns-drops ", Scenario.NodePortBackend | Scenario.DnsDrops)]
    [InlineData("all", Scenario.All)]
    [InlineData("none", Scenario.None)]
    [InlineData("", Scenario.None)]
    [InlineData("dns-drops,duplicate-ip,asymmetric,nodeport-backend,node-collapse", Scenario.All)]
    public void Parse_AcceptsNamesAllAndNone(string text, Scenario expected) =>
        Assert.Equal(expected, ScenarioSet.Parse(text).Value);

    [Fact]
    public void Parse_UnknownName_SaysWhichAndListsTheKnownOnes()
    {
        var e = Assert.Throws<FormatException>(() => ScenarioSet.Parse("dns-drops,dns-drop"));
        Assert.Contains("'dns-drop'", e.Message);
        foreach (var name in ScenarioSet.KnownNames) Assert.Contains(name, e.Message);
    }

    [Theory]
    [InlineData("asymmetric,dns-drops", "dns-drops,asymmetric")]
    [InlineData("all", "all")]
    [InlineData("none", "none")]
    public void ToString_IsCanonicalAndParsesBack(string text, string canonical)
    {
        var set = ScenarioSet.Parse(text);
        Assert.Equal(canonical, set.ToString());
        Assert.Equal(set, ScenarioSet.Parse(set.ToString()));
    }

    [Fact]
    public void Has_IsFalseForNone() => Assert.False(ScenarioSet.All.Has(Scenario.None));
}
