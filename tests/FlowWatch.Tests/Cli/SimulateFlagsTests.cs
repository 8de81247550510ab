using FlowWatch.Cli.CommandLine;
using FlowWatch.Cli.Commands;

namespace FlowWatch.Tests.Cli;

/// <summary>The node-collapse timing flags of <c>simulate</c> and <c>demo</c>: parsed into the simulator's options, refused when absurd.</summary>
public sealed class SimulateFlagsTests
{
    private static FlowWatch.Simulation.SimulatorOptions Parse(params string[] argv) =>
        SimulateCommand.Options(ParsedArgs.Parse(SimulateCommand.Spec, argv), "127.0.0.1:0");

    [Fact]
    public void Defaults_AreTheScenariosOwn_CollapseAt20sAndNoRecovery()
    {
        var o = Parse();
        Assert.Equal(TimeSpan.FromSeconds(20), o.NodeCollapse.After);
        Assert.Null(o.NodeCollapse.RecoverAfter);
    }

    [Fact]
    public void CollapseAndRecovery_AreTaken()
    {
        var o = Parse("--collapse-after", "2m", "--collapse-recover-after", "5m");
        Assert.Equal(TimeSpan.FromMinutes(2), o.NodeCollapse.After);
        Assert.Equal(TimeSpan.FromMinutes(5), o.NodeCollapse.RecoverAfter);
    }

    [Fact]
    public void RecoveryBeforeTheCollapse_IsRefused_NamingTheFlag()
    {
        var e = Assert.Throws<UsageException>(() => Parse("--collapse-after", "60s", "--collapse-recover-after", "30s"));
        Assert.Contains("'--collapse-recover-after'", e.Message);
        var bad = Assert.Throws<UsageException>(() => Parse("--collapse-after", "soon"));
        Assert.Contains("'--collapse-after'", bad.Message);
    }

    [Fact]
    public void Demo_PassesTheCollapseFlagsToTheSimulator()
    {
        var demo = ParsedArgs.Parse(DemoCommand.Spec, ["--collapse-recover-after", "90s"]);
        var passed = SimulateCommand.CollapseArgs(demo).ToList();
        Assert.Equal(["--collapse-recover-after", "90s"], passed);
        Assert.Contains("--collapse-after", DemoCommand.Spec.Help());
        Assert.Equal(TimeSpan.FromSeconds(90), Parse([.. passed]).NodeCollapse.RecoverAfter);
    }
}
