using FlowWatch.Pipeline;

namespace FlowWatch.Tests.Pipeline;

/// <summary>The checkpoint's resume span: written, read back, checked, and absent in older checkpoints.</summary>
public sealed class CheckpointResumeSpanTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-span-").FullName;
    private static readonly long Newest = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds() * 1_000_000;

    [Fact]
    public void TheSpan_RoundTrips_ThroughTheKeeper()
    {
        var path = Path.Combine(_dir, "c.json");
        var tracker = new ResumeTracker(TimeSpan.FromSeconds(2));
        tracker.Add(new FlowWatch.Flows.FlowRecord { Origin = "relay", Uuid = "a", TimeNanos = Newest - 3_000_000_000 });
        tracker.Add(new FlowWatch.Flows.FlowRecord { Origin = "relay", Uuid = "b", TimeNanos = Newest - 1_000_000_000 });
        tracker.Add(new FlowWatch.Flows.FlowRecord { Origin = "relay", Uuid = "c", TimeNanos = Newest });
        new CheckpointKeeper(path, () => [], tracker) { Source = "relay" }.Save();
        var point = new CheckpointKeeper(path, () => [], new ResumeTracker()).ResumePoint("relay");
        Assert.NotNull(point);
        Assert.Equal(Newest, point!.NewestNanos);
        Assert.Equal(Newest - 2_000_000_000, point.SinceNanos);
        Assert.Equal(new[] { "b", "c" }.Select(FlowIdHash.Of).Order(), point.Seen.Order());
    }

    [Theory]
    [InlineData("\"since_nanos\": 5, \"seen_ids\": \"not base64!\"", "seen_ids")]
    [InlineData("\"since_nanos\": 5, \"seen_ids\": \"AAAA\"", "seen_ids")]
    [InlineData("\"since_nanos\": 0, \"seen_ids\": \"\"", "starts at 0")]
    [InlineData("\"since_nanos\": 9000000000000000000, \"seen_ids\": \"\"", "at most its resume point")]
    public void ABadSpan_IsReported_AndTheCheckpointIgnored(string span, string problem)
    {
        var path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, $$$"""{"written_at": "2026-01-01T00:00:00Z", "sources": {"relay": {{{Newest}}} }, "open_findings": [], "resume": {"relay": { {{{span}}} } } }""");
        var warnings = new List<string>();
        Assert.Null(Checkpoint.Load(path, warnings.Add));
        Assert.Contains(warnings, w => w.Contains(problem, StringComparison.Ordinal));
    }

    [Fact]
    public void AnOlderCheckpoint_WithoutTheSpan_ResumesAtItsNewest()
    {
        var path = Path.Combine(_dir, "old.json");
        File.WriteAllText(path, $$$"""{"written_at": "2026-01-01T00:00:00Z", "sources": {"relay": {{{Newest}}} }, "open_findings": [], "newest_ids": {"relay": ["x"]} }""");
        var point = new CheckpointKeeper(path, () => [], new ResumeTracker()).ResumePoint("relay");
        Assert.Equal((Newest, Newest), (point!.NewestNanos, point.SinceNanos));
        Assert.Equal(["x"], point.Ids);
        Assert.Empty(point.Seen);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
