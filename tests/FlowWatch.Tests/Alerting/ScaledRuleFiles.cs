using YamlDotNet.RepresentationModel;

namespace FlowWatch.Tests.Alerting;

/// <summary>A copy of rules/*.yaml in a temp directory with every alert's <c>for:</c> divided by a factor, so an
/// end-to-end test sees alerts fire in seconds; expressions, labels and annotations are the repository's, byte for byte
/// as YAML values. The directory is deleted on dispose.</summary>
public sealed class ScaledRuleFiles : IDisposable
{
    private readonly DirectoryInfo _dir;

    private ScaledRuleFiles(DirectoryInfo dir, IReadOnlyList<string> paths, IReadOnlyDictionary<string, TimeSpan> scaledFor)
    {
        _dir = dir;
        Paths = paths;
        ScaledFor = scaledFor;
    }

    /// <summary>The rewritten rule files, one per file in rules/.</summary>
    public IReadOnlyList<string> Paths { get; }

    /// <summary>Alert name → the <c>for:</c> Prometheus is given in this copy.</summary>
    public IReadOnlyDictionary<string, TimeSpan> ScaledFor { get; }

    public static ScaledRuleFiles Write(int divideForBy)
    {
        if (divideForBy < 1) throw new ArgumentOutOfRangeException(nameof(divideForBy), divideForBy, "must be at least 1");
        var dir = Directory.CreateTempSubdirectory("flowwatch-rules-");
        var paths = new List<string>();
        var scaled = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        foreach (var source in RuleFiles.RuleFilePaths)
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(source)) stream.Load(reader);
            var root = (YamlMappingNode)stream.Documents[0].RootNode;
            foreach (var group in RuleFiles.Seq(root, "groups"))
                foreach (var rule in RuleFiles.Seq(group, "rules"))
                {
                    if (RuleFiles.Str(rule, "alert") is not { } alert || RuleFiles.Str(rule, "for") is not { } forText) continue;
                    var original = PromDuration.Parse(forText) ?? throw new InvalidDataException($"{source}: {alert}: bad for: '{forText}'");
                    var shorter = TimeSpan.FromMilliseconds(Math.Max(1000, original.TotalMilliseconds / divideForBy));
                    rule.Children[new YamlScalarNode("for")] = new YamlScalarNode(PromDuration.Format(shorter));
                    scaled[alert] = shorter;
                }
            var target = Path.Combine(dir.FullName, Path.GetFileName(source));
            using (var writer = new StreamWriter(target)) stream.Save(writer, assignAnchors: false);
            paths.Add(target);
        }
        return new ScaledRuleFiles(dir, paths, scaled);
    }

    public void Dispose()
    {
        try { _dir.Delete(recursive: true); }
        catch (IOException) { }
    }
}
