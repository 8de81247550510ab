using System.Diagnostics;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Pipeline;
using FlowWatch.Simulation;
using FlowWatch.Tests.Simulation;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Detectors;

/// <summary>Measures, per simulator scenario at the default rate (1,000 flows/s), the event time from the scenario's
/// onset to its first finding, and the wall time this process took to get there replaying as fast as it can; prints the
/// README's time-to-finding table (scenario, kind, onset, event time onset → finding, wall time replaying to it).
/// Asserts only the bound (within 60 s of event time).</summary>
public sealed class TimeToFindingTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(120);

    public static TheoryData<string, FindingKind> Cases => new()
    {
        { "dns-drops", FindingKind.DnsDrops },
        { "duplicate-ip", FindingKind.DuplicateIp },
        { "asymmetric", FindingKind.AsymmetricPath },
        { "nodeport-backend", FindingKind.BackendUnhealthy },
        { "node-collapse", FindingKind.NodeConnectivity },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Scenario_IsFoundWithinAMinuteOfItsOnset(string scenario, FindingKind kind)
    {
        var set = ScenarioSet.Parse(scenario);
        var generator = new TrafficGenerator(11, 5, set, new SimulatorOptions().FlowsPerSecond);
        var onset = set.Has(Scenario.NodeCollapse) ? generator.NodeCollapse.After : TimeSpan.Zero;
        var flows = new List<FlowRecord>();
        var converter = new FlowConverter(new StringPool());
        foreach (var r in generator.Generate(SimFlows.Start, Duration))
            if (r.Flow is not null) flows.Add(converter.Convert(r.Flow, r.NodeName));

        using var pipeline = new FlowPipeline(DetectorSet.Create(DetectorSettings.Default), Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        TimeSpan? found = null;
        TimeSpan wall = default;
        var clock = new Stopwatch();
        pipeline.Findings.Subscribe(f =>
        {
            if (found is null && f.Kind == kind && f.State == FindingState.Open) { found = pipeline.Now - SimFlows.Start; wall = clock.Elapsed; }
        });
        pipeline.Start(SimFlows.Start);
        foreach (var change in generator.Cluster.ClusterView(set, SimFlows.Start)) pipeline.Apply(change);
        clock.Start();
        foreach (var f in flows) pipeline.Process(f);

        Assert.True(found is not null, $"{scenario}: no {Finding.KindName(kind)} finding in {Duration.TotalSeconds} s");
        var eventTime = found!.Value - onset;
        output.WriteLine($"| {scenario} | {Finding.KindName(kind)} | {onset.TotalSeconds:0} s | {eventTime.TotalSeconds:0.0} s | {wall.TotalMilliseconds:0} ms |");
        Assert.InRange(eventTime, TimeSpan.Zero, TimeSpan.FromSeconds(60));
    }
}
