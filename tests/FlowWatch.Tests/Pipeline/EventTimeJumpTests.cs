using System.Diagnostics;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Pipeline;
using FlowWatch.Simulation;
using FlowWatch.Tests.Simulation;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Pipeline;

/// <summary>A ten-year gap in event time: cheap to cross, and nothing from before it reaches a finding after it.</summary>
public sealed class EventTimeJumpTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(90);

    private static FlowPipeline NewPipeline() =>
        new(DetectorSet.Create(DetectorSettings.Default), Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));

    // The same seed both sides of the gap: the same simulated cluster (its pods stay in the cluster view, as they would).
    private static void Feed(FlowPipeline pipeline, string scenario, DateTimeOffset start, int seed)
    {
        var set = ScenarioSet.Parse(scenario);
        var generator = new TrafficGenerator(seed, 5, set, 1_000);
        if (!pipeline.Started) pipeline.Start(start);
        foreach (var change in generator.Cluster.ClusterView(set, start)) pipeline.Apply(change);
        var converter = new FlowConverter(new StringPool());
        foreach (var response in generator.Generate(start, Phase))
            if (response.Flow is not null) pipeline.Process(converter.Convert(response.Flow, response.NodeName));
    }

    /// <summary>Each finding's last state, without the update that a restart of the clock cannot reproduce.</summary>
    private static List<string> Final(IEnumerable<Finding> findings, DateTimeOffset from) =>
        findings.Where(f => f.FirstSeen >= from).GroupBy(f => f.Id).Select(g => g.Last())
            .Select(f => $"{f.Id} {f.Severity} {f.State} {f.FirstSeen:O} {f.LastSeen:O} {string.Join(",", f.Evidence.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}"))} | {f.Summary}")
            .OrderBy(s => s, StringComparer.Ordinal).ToList();

    [Theory]
    [InlineData("dns-drops")]
    [InlineData("asymmetric")]
    [InlineData("nodeport-backend")]
    [InlineData("duplicate-ip")]
    public void AfterATenYearJump_FindingsAreThoseOfAFreshRun_AndEverythingBeforeItResolved(string scenario)
    {
        var before = SimFlows.Start;
        var after = before.AddYears(10);

        using var jumped = NewPipeline();
        var seen = new List<Finding>();
        jumped.Findings.Subscribe(seen.Add);
        var watch = Stopwatch.StartNew();
        Feed(jumped, scenario, before, seed: 7);
        var openBeforeGap = jumped.Book.OpenFindings.Count;
        Feed(jumped, scenario, after, seed: 7);
        jumped.AdvanceBy(TimeSpan.FromMinutes(30));
        watch.Stop();

        using var fresh = NewPipeline();
        var freshSeen = new List<Finding>();
        fresh.Findings.Subscribe(freshSeen.Add);
        Feed(fresh, scenario, after, seed: 7);
        fresh.AdvanceBy(TimeSpan.FromMinutes(30));

        output.WriteLine($"{scenario}: {jumped.Stats.Flows} flows, {watch.Elapsed.TotalMilliseconds:F0} ms, " +
                         $"{jumped.EventClock!.Jumps} jumps, {jumped.EventClock.TicksSkipped:N0} ticks skipped, {openBeforeGap} open before the gap");
        Assert.True(openBeforeGap > 0, "the scenario raised nothing before the gap, so the test proves nothing");
        Assert.True(jumped.EventClock.TicksSkipped > 100_000_000);
        // Every finding from before the gap resolved within the catch-up, at its own time, not ten years later.
        foreach (var f in seen.Where(f => f.FirstSeen < after).GroupBy(f => f.Id).Select(g => g.Last()))
        {
            Assert.Equal(FindingState.Resolved, f.State);
            Assert.True(f.LastSeen < before + Phase + TimeSpan.FromMinutes(15), $"{f.Id} last seen {f.LastSeen:O}");
        }
        var expected = Final(freshSeen, after);
        Assert.NotEmpty(expected);
        Assert.Equal(expected, Final(seen, after));
    }
}
