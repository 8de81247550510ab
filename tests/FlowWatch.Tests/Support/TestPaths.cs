namespace FlowWatch.Tests.Support;

/// <summary>Where the repository, the shared corpus of real Hubble recordings and the real Hubble tools are.</summary>
/// <remarks>
/// A test that needs ../shared is a <c>[SkippableFact]</c> (or <c>[SkippableTheory]</c>) that calls one of the
/// <c>Require…</c> members first: where the folder is absent the test is reported as skipped, with the reason, and
/// ./test.sh counts it as not run; it never passes without having run.
/// </remarks>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared beside the clone (present in CI, maybe not in a clone elsewhere).</summary>
    public static string SharedDir => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    /// <summary>../shared/corpus beside the clone, or null when this clone has none (outside CI).</summary>
    public static string? Corpus
    {
        get
        {
            var dir = Path.Combine(SharedDir, "corpus");
            return Directory.Exists(dir) ? dir : null;
        }
    }

    /// <summary>../shared/bin when it holds both real tools (hubble and hubble-refserver), else null.</summary>
    public static string? SharedBin
    {
        get
        {
            var dir = Path.Combine(SharedDir, "bin");
            return File.Exists(Path.Combine(dir, "hubble")) && File.Exists(Path.Combine(dir, "hubble-refserver")) ? dir : null;
        }
    }

    public static IReadOnlyList<string> CorpusFiles =>
        Corpus is { } dir ? Directory.GetFiles(dir, "*.jsonl").Concat(Directory.GetFiles(dir, "*.jsonl.gz")).OrderBy(f => f).ToList() : [];

    /// <summary>Says plainly why a corpus test did not run.</summary>
    public const string CorpusMissing = "CORPUS ABSENT: ../shared/corpus not found beside the clone; this corpus test did not run.";

    /// <summary>Says plainly why a test of the real Hubble tools did not run.</summary>
    public const string SharedBinMissing = "SHARED BIN ABSENT: ../shared/bin/hubble and hubble-refserver not found beside the clone; this test against the real Hubble tools did not run.";

    /// <summary>The corpus folder; skips the calling test (reported as not run) when it is absent.</summary>
    public static string RequireCorpus()
    {
        var dir = Corpus;
        Skip.If(dir is null, CorpusMissing);
        return dir!;
    }

    /// <summary>The folder of the real Hubble tools; skips the calling test (reported as not run) when it is absent.</summary>
    public static string RequireSharedBin()
    {
        var dir = SharedBin;
        Skip.If(dir is null, SharedBinMissing);
        return dir!;
    }

    /// <summary>The real hubble CLI (v0.12.3); skips the calling test when absent.</summary>
    public static string Hubble => Path.Combine(RequireSharedBin(), "hubble");

    /// <summary>hubble-refserver, an observer.Observer server on Cilium's own code; skips the calling test when absent.</summary>
    public static string RefServer => Path.Combine(RequireSharedBin(), "hubble-refserver");

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FlowWatch.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("FlowWatch.sln not found above " + AppContext.BaseDirectory);
    }
}
