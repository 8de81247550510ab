using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Pipeline;
using FlowWatch.Simulation;
using FlowWatch.Tests.Simulation;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Detectors;

/// <summary>Each simulator scenario through the full pipeline and every detector raises its own finding kinds and no other.</summary>
public sealed class ScenarioFindingTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(150);
    private static readonly TimeSpan RaiseWithin = TimeSpan.FromMinutes(1);

    public static TheoryData<string, bool, FindingKind[]> Cases => new()
    {
        { "none", true, [] },
        { "none", false, [] },
        { "dns-drops", true, [FindingKind.DnsDrops] },
        { "duplicate-ip", true, [FindingKind.DuplicateIp, FindingKind.UnmanagedPod] },
        { "asymmetric", true, [FindingKind.AsymmetricPath] },
        { "asymmetric", false, [FindingKind.AsymmetricPath] },
        { "nodeport-backend", true, [FindingKind.BackendUnhealthy] },
        { "nodeport-backend", false, [FindingKind.BackendUnhealthy] },
        { "node-collapse", true, [FindingKind.NodeConnectivity] },
        { "node-collapse", false, [FindingKind.NodeConnectivity] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Scenario_RaisesExactlyItsOwnFindings_WithinAMinuteOfEventTime(string scenario, bool clusterState, FindingKind[] expected)
    {
        var set = ScenarioSet.Parse(scenario);
        var generator = new TrafficGenerator(7, 5, set, 1_000);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        using var pipeline = new FlowPipeline(DetectorSet.Create(DetectorSettings.Default), Prometheus.Metrics.WithCustomRegistry(registry));
        var firstOpened = new Dictionary<FindingKind, (TimeSpan At, Finding Finding)>();
        var start = SimFlows.Start;
        pipeline.Findings.Subscribe(f =>
        {
            if (f.State == FindingState.Open && !firstOpened.ContainsKey(f.Kind)) firstOpened[f.Kind] = (pipeline.Now - start, f);
        });
        pipeline.Start(start);
        if (clusterState)
            foreach (var change in generator.Cluster.ClusterView(set, start)) pipeline.Apply(change);
        var converter = new FlowConverter(new StringPool());
        foreach (var response in generator.Generate(start, Duration))
            if (response.Flow is not null) pipeline.Process(converter.Convert(response.Flow, response.NodeName));

        output.WriteLine($"scenario {scenario}, cluster state {(clusterState ? "on" : "off")}: {pipeline.Stats.Flows} flows over {Duration.TotalSeconds} s");
        foreach (var (kind, (at, f)) in firstOpened.OrderBy(p => p.Value.At))
            output.WriteLine($"  {Finding.KindName(kind)} opened at +{at.TotalSeconds:F1} s: [{f.Severity}] {f.Summary}");
        foreach (var f in pipeline.Book.OpenFindings) output.WriteLine($"  open: {f.Id}");

        Assert.Equal(expected.OrderBy(k => k), firstOpened.Keys.OrderBy(k => k));
        Assert.All(firstOpened.Values, v => Assert.True(v.At <= RaiseWithin, $"{v.Finding.Id} took {v.At.TotalSeconds:F1} s of event time"));
    }
}
