using FlowWatch.Findings;
using FlowWatch.Pipeline;

namespace FlowWatch.Tests.Pipeline;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void RoundTripsSourcesAndOpenFindings_AndLeavesNoTempFile()
    {
        var path = Path.Combine(_dir, "state", "checkpoint.json");
        var finding = new Finding("dns_drops/shop/checkout", FindingKind.DnsDrops, Severity.Warning, FindingState.Open,
            new FindingSubject(Namespace: "shop", Workload: "checkout"), new Dictionary<string, long> { ["policy"] = 3 },
            DateTimeOffset.UnixEpoch.AddDays(1), DateTimeOffset.UnixEpoch.AddDays(2), "denied", ["api.example."]);
        new Checkpoint(DateTimeOffset.UnixEpoch, new Dictionary<string, long> { ["relay:4245"] = 123456789 }, [finding]).Save(path);

        var loaded = Checkpoint.Load(path);

        Assert.NotNull(loaded);
        Assert.Equal(123456789, loaded!.Sources["relay:4245"]);
        var f = Assert.Single(loaded.OpenFindings);
        Assert.Equal(finding.Id, f.Id);
        Assert.Equal(FindingKind.DnsDrops, f.Kind);
        Assert.Equal(3, f.Evidence["policy"]);
        Assert.Equal(["checkpoint.json"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void CorruptFile_IsReportedAndIgnored()
    {
        var path = Path.Combine(_dir, "checkpoint.json");
        File.WriteAllText(path, "{\"sources\": [tru");
        string? warning = null;
        Assert.Null(Checkpoint.Load(path, w => warning = w));
        Assert.Contains("unreadable", warning);
        Assert.Null(Checkpoint.Load(Path.Combine(_dir, "absent.json")));
    }
}
