namespace FlowWatch.Tests.Alerting;

/// <summary>A machine without Debian's prometheus package fails the alerting tests with a way out; it never skips them.</summary>
public sealed class PrometheusToolsTests
{
    [Fact]
    public void MissingTool_FailsTheTest_SayingToRunTestSh()
    {
        var empty = Directory.CreateTempSubdirectory("flowwatch-nopromtool-");
        try
        {
            var e = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => PrometheusTools.Find("promtool", [empty.FullName]));
            Assert.Contains("./test.sh", e.Message);
            Assert.Contains("promtool", e.Message);
        }
        finally
        {
            empty.Delete();
        }
    }
}
