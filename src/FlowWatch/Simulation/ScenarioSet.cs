namespace FlowWatch.Simulation;

/// <summary>Which scenarios are on, parsed from "dns-drops,duplicate-ip,asymmetric,nodeport-backend,node-collapse", "all" or "none".</summary>
public readonly record struct ScenarioSet(Scenario Value)
{
    private static readonly (string Name, Scenario Scenario)[] Names =
    [
        ("dns-drops", Scenario.DnsDrops),
        ("duplicate-ip", Scenario.DuplicateIp),
        ("asymmetric", Scenario.Asymmetric),
        ("nodeport-backend", Scenario.NodePortBackend),
        ("node-collapse", Scenario.NodeCollapse),
    ];

    public static ScenarioSet None => new(Scenario.None);
    public static ScenarioSet All => new(Scenario.All);

    /// <summary>The names <see cref="Parse"/> accepts besides "all" and "none".</summary>
    public static IReadOnlyList<string> KnownNames { get; } = Names.Select(n => n.Name).ToArray();

    public bool Has(Scenario scenario) => (Value & scenario) == scenario && scenario != Scenario.None;

    public bool IsEmpty => Value == Scenario.None;

    public ScenarioSet With(Scenario scenario) => new(Value | scenario);

    /// <summary>Comma-separated names, case-insensitive; an empty string means none.</summary>
    /// <exception cref="FormatException">An unknown name, naming the known ones.</exception>
    public static ScenarioSet Parse(string? text)
    {
        if (TryParse(text, out var set, out var error)) return set;
        throw new FormatException(error);
    }

    public static bool TryParse(string? text, out ScenarioSet set, out string? error)
    {
        set = None;
        error = null;
        if (string.IsNullOrWhiteSpace(text)) return true;
        var value = Scenario.None;
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var name = raw.ToLowerInvariant();
            if (name == "all") { value |= Scenario.All; continue; }
            if (name == "none") continue;
            var found = Array.FindIndex(Names, n => n.Name == name);
            if (found < 0)
            {
                error = $"unknown scenario '{raw}'; known scenarios: {string.Join(", ", KnownNames)}, or all, or none";
                return false;
            }
            value |= Names[found].Scenario;
        }
        set = new ScenarioSet(value);
        return true;
    }

    /// <summary>The canonical text: "none", "all" or the names joined by commas.</summary>
    public override string ToString()
    {
        if (Value == Scenario.None) return "none";
        if (Value == Scenario.All) return "all";
        var self = this;
        return string.Join(",", Names.Where(n => self.Has(n.Scenario)).Select(n => n.Name));
    }
}
