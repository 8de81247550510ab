using FlowWatch.Tests.Support;

namespace FlowWatch.Tests.Alerting;

/// <summary>The end-to-end test's rule copy differs from rules/ only in for:, and Prometheus' own checker accepts it.</summary>
public sealed class ScaledRuleFilesTests
{
    [Fact]
    public async Task Copy_ChangesOnlyFor_DividedByTheFactor_AndPassesPromtoolCheck()
    {
        using var scaled = ScaledRuleFiles.Write(6);
        var copy = scaled.Paths.SelectMany(RuleFiles.Read).ToList();
        var original = RuleFiles.All;
        Assert.Equal(original.Count, copy.Count);
        foreach (var (o, c) in original.Zip(copy))
        {
            Assert.Equal(o.Name, c.Name);
            Assert.Equal(o.Group, c.Group);
            Assert.Equal(o.Expr, c.Expr);
            Assert.Equal(o.Labels, c.Labels);
            Assert.Equal(o.Annotations, c.Annotations);
            if (o.For is null) { Assert.Null(c.For); continue; }
            Assert.Equal(PromDuration.Parse(o.For)!.Value / 6, PromDuration.Parse(c.For!)!.Value);
            Assert.Equal(PromDuration.Parse(c.For!)!.Value, scaled.ScaledFor[o.Alert!]);
        }
        var check = await ProcessRunner.RunAsync(PrometheusTools.Promtool, ["check", "rules", .. scaled.Paths], TestPaths.RepoRoot, TimeSpan.FromSeconds(60));
        Assert.True(check.ExitCode == 0, check.Output);
    }

    [Theory]
    [InlineData("1m", 60_000)]
    [InlineData("90s", 90_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("500ms", 500)]
    public void PromDuration_ParsesAndFormatsBack(string text, int ms)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(ms), PromDuration.Parse(text));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), PromDuration.Parse(PromDuration.Format(TimeSpan.FromMilliseconds(ms))));
    }

    [Fact]
    public void PromDuration_RejectsWhatPrometheusWouldNot() => Assert.Null(PromDuration.Parse("1 minute"));
}
