namespace FlowWatch.Tests.Support;

/// <summary>Where the repository and the shared corpus of real Hubble recordings are.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared/corpus beside the clone, or null when this clone has none (outside CI).</summary>
    public static string? Corpus
    {
        get
        {
            var dir = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "corpus"));
            return Directory.Exists(dir) ? dir : null;
        }
    }

    public static IReadOnlyList<string> CorpusFiles =>
        Corpus is { } dir ? Directory.GetFiles(dir, "*.jsonl").Concat(Directory.GetFiles(dir, "*.jsonl.gz")).OrderBy(f => f).ToList() : [];

    /// <summary>Says plainly, in the test output, that a corpus test did not run.</summary>
    public const string CorpusMissing = "CORPUS ABSENT: ../shared/corpus not found beside the clone; this corpus test did not run.";

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FlowWatch.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("FlowWatch.sln not found above " + AppContext.BaseDirectory);
    }
}
