using FlowWatch.Cli.CommandLine;
using FlowWatch.Cli.Commands;
using FlowWatch.Flows;

namespace FlowWatch.Tests.Cli;

/// <summary>Detector flags reach the detectors' settings, and bad values fail naming the flag.</summary>
public sealed class DetectorFlagsTests
{
    private static ParsedArgs Args(params string[] argv) => ParsedArgs.Parse(ReplayCommand.Spec, ["x.jsonl", .. argv]);

    [Fact]
    public void NoFlags_GiveTheDetectorsOwnDefaults()
    {
        var settings = DetectorFlags.Build(Args());
        Assert.Equal(FlowWatch.Hosting.DetectorSettings.Default.Dns, settings.Dns);
        Assert.Equal(FlowWatch.Hosting.DetectorSettings.Default.Backends.UnhealthyRatio, settings.Backends.UnhealthyRatio);
        Assert.Empty(settings.Asymmetric.PeerRanges);
    }

    [Fact]
    public void Flags_SetPeerRangesThresholdsAndQuietPeriod()
    {
        var s = DetectorFlags.Build(Args("--peer-range", "172.31.8.0/24,10.20.0.0/16", "--asym-min-handshakes", "12", "--asym-ratio", "0.8",
            "--backend-min-samples", "30", "--backend-unhealthy-ratio", "0.7", "--dns-timeout", "3s", "--dns-min-drops", "2", "--quiet-period", "5m"));
        Assert.Equal([IpPrefix.Parse("172.31.8.0/24"), IpPrefix.Parse("10.20.0.0/16")], s.Asymmetric.PeerRanges);
        Assert.Equal(IpPrefix.Parse("10.20.0.0/16"), s.Asymmetric.RangeOf(IpAddr.Parse("10.20.7.9")));
        Assert.Equal(12, s.Asymmetric.MinHandshakes);
        Assert.Equal(0.8, s.Asymmetric.ReplyLostRatio);
        Assert.Equal(30, s.Backends.MinSamples);
        Assert.Equal(0.7, s.Backends.UnhealthyRatio);
        Assert.Equal(TimeSpan.FromSeconds(3), s.Dns.NoAnswerTimeout);
        Assert.Equal(2, s.Dns.MinDrops);
        Assert.All(new[] { s.Dns.QuietPeriod, s.DuplicateIp.QuietPeriod, s.Asymmetric.QuietPeriod, s.Backends.QuietPeriod },
            q => Assert.Equal(TimeSpan.FromMinutes(5), q));
    }

    [Theory]
    [InlineData("--peer-range", "172.31.8.0/33", "--peer-range")]
    [InlineData("--peer-range", "peered-vpc", "--peer-range")]
    [InlineData("--asym-ratio", "1.5", "--asym-ratio")]
    [InlineData("--backend-min-samples", "0", "--backend-min-samples")]
    [InlineData("--dns-timeout", "soon", "--dns-timeout")]
    [InlineData("--quiet-period", "0s", "--quiet-period")]
    public void BadValues_FailNamingTheFlag(string flag, string value, string named)
    {
        var e = Assert.Throws<UsageException>(() => DetectorFlags.Build(Args(flag, value)));
        Assert.Contains(named, e.Message);
    }
}
