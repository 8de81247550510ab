using FlowWatch.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace FlowWatch.Tests.Alerting;

/// <summary>The repository's rule files (rules/*.yaml) and rule test files (rules/tests/*.yaml), read with YamlDotNet.</summary>
internal static class RuleFiles
{
    public static string RulesDir => Path.Combine(TestPaths.RepoRoot, "rules");

    public static IReadOnlyList<string> RuleFilePaths => Sorted(Directory.GetFiles(RulesDir, "*.yaml"));

    public static IReadOnlyList<string> TestFilePaths => Sorted(Directory.GetFiles(Path.Combine(RulesDir, "tests"), "*.yaml"));

    public static IReadOnlyList<RuleDefinition> All => RuleFilePaths.SelectMany(Read).ToList();

    public static IReadOnlyList<RuleDefinition> Alerts => All.Where(r => r.Alert is not null).ToList();

    public static IReadOnlySet<string> RecordedNames => All.Where(r => r.Record is not null).Select(r => r.Record!).ToHashSet(StringComparer.Ordinal);

    public static YamlMappingNode Load(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    public static IEnumerable<RuleDefinition> Read(string path)
    {
        var file = Path.GetFileName(path);
        foreach (var group in Seq(Load(path), "groups"))
        {
            var groupName = Str(group, "name") ?? "";
            foreach (var rule in Seq(group, "rules"))
                yield return new RuleDefinition(file, groupName, Str(rule, "alert"), Str(rule, "record"), Str(rule, "expr") ?? "",
                    Str(rule, "for"), Map(rule, "labels"), Map(rule, "annotations"));
        }
    }

    public static IEnumerable<YamlMappingNode> Seq(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlSequenceNode seq
            ? seq.Children.OfType<YamlMappingNode>()
            : [];

    public static string? Str(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;

    private static IReadOnlyDictionary<string, string> Map(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlMappingNode m
            ? m.Children.ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => ((YamlScalarNode)p.Value).Value ?? "", StringComparer.Ordinal)
            : new Dictionary<string, string>();

    private static IReadOnlyList<string> Sorted(string[] files) => files.OrderBy(f => f, StringComparer.Ordinal).ToList();
}
