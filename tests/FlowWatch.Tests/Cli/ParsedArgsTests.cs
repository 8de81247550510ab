using FlowWatch.Cli.CommandLine;

namespace FlowWatch.Tests.Cli;

public sealed class ParsedArgsTests
{
    private static readonly CommandSpec Spec = new("test", "a test command", "[options]",
    [
        new("rate", "Flows per second.", "N", "1000"),
        new("scenario", "Scenarios.", "LIST", "all"),
        new("since", "How far back.", "DURATION", "5m"),
        new("follow", "Keep going.", Short: 'f'),
        new("output", "Format.", "FORMAT", "table", 'o'),
    ]);

    [Fact]
    public void ReadsValuesSwitchesDefaultsAndPositionals()
    {
        var a = ParsedArgs.Parse(Spec, ["--rate=500", "-f", "-o", "json", "pos", "--scenario", "dns-drops,asymmetric"]);
        Assert.Equal(500, a.Int("rate", 1));
        Assert.True(a.Flag("follow"));
        Assert.Equal("json", a.Get("output"));
        Assert.Equal(["pos"], a.Positionals);
        Assert.Equal(["dns-drops", "asymmetric"], a.GetAll("scenario"));
        Assert.Equal(TimeSpan.FromMinutes(5), a.Duration("since"));
    }

    [Theory]
    [InlineData("--bogus", "unknown option '--bogus'")]
    [InlineData("--rate", "needs a value")]
    [InlineData("--follow=maybe", "takes no value")]
    public void BadFlagsNameTheFlag(string arg, string message)
    {
        var e = Assert.Throws<UsageException>(() => ParsedArgs.Parse(Spec, [arg]));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void BadNumbersAndDurationsSayWhatIsExpected()
    {
        var a = ParsedArgs.Parse(Spec, ["--rate", "fast", "--since", "yesterday"]);
        Assert.Contains("whole number", Assert.Throws<UsageException>(() => a.Int("rate", 1)).Message);
        Assert.Contains("duration such as", Assert.Throws<UsageException>(() => a.Duration("since")).Message);
        Assert.Equal(TimeSpan.FromMilliseconds(500), ParsedArgs.ParseDuration("500ms"));
    }

    [Fact]
    public void HelpListsEveryOption()
    {
        var help = Spec.Help();
        foreach (var o in Spec.Options) Assert.Contains("--" + o.Name, help);
        Assert.True(ParsedArgs.Parse(Spec, ["--help"]).HelpRequested);
    }
}
