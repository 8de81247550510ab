namespace FlowWatch.Store;

/// <summary>Interns names to small integer ids so that a stored flow holds ints, not strings.</summary>
/// <remarks>
/// Id 0 is the empty string and id 1 is "(overflow)", handed out once the table is full (and counted).
/// Append-only; not thread-safe (the store guards it with its lock).
/// </remarks>
internal sealed class StringTable(int capacity)
{
    public const int Empty = 0;
    public const int Overflow = 1;

    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal) { [""] = Empty, ["(overflow)"] = Overflow };
    private readonly List<string> _names = ["", "(overflow)"];

    public int Count => _names.Count;
    public long Overflowed { get; private set; }

    public int Intern(string? value)
    {
        if (string.IsNullOrEmpty(value)) return Empty;
        if (_ids.TryGetValue(value, out var id)) return id;
        if (_names.Count >= capacity) { Overflowed++; return Overflow; }
        id = _names.Count;
        _names.Add(value);
        _ids[value] = id;
        return id;
    }

    /// <summary>The id of a name already seen, or -1 (a query for it can match nothing).</summary>
    public int Find(string value) => value.Length == 0 ? Empty : _ids.TryGetValue(value, out var id) ? id : -1;

    public string this[int id] => _names[id];
}
