namespace FlowWatch.Store;

/// <summary>Bounds of the recent-flow store: a flow count and a memory budget, whichever is smaller.</summary>
/// <remarks>
/// The defaults keep an hour of a busy cluster (about 800 flows/s) in roughly 320 MB: entries are
/// 104 bytes (88 before the uuid was kept) plus 2 bytes of block index each, names are interned once in bounded tables.
/// </remarks>
public sealed record FlowStoreOptions
{
    /// <summary>Most flows kept; the oldest leave first.</summary>
    public int MaxFlows { get; init; } = 3_000_000;

    /// <summary>Memory the flow entries may take, in bytes (tables of names come on top and are bounded by count).</summary>
    public long MemoryBudgetBytes { get; init; } = 320L * 1024 * 1024;

    /// <summary>Distinct names (namespaces, pods, nodes, DNS names, URLs) kept; past it new names are stored as "(overflow)".</summary>
    public int MaxStrings { get; init; } = 1_000_000;

    /// <summary>Distinct endpoints (identity, namespace, pod, workload, label set) kept.</summary>
    public int MaxEndpoints { get; init; } = 500_000;

    /// <summary>Distinct endpoint label sets kept (about one per Cilium identity); past it an endpoint's labels are not kept and a label selector does not match it.</summary>
    public int MaxLabelSets { get; init; } = 100_000;

    public static FlowStoreOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (MaxFlows < 1) throw new ArgumentException($"store max flows must be at least 1, not {MaxFlows}", nameof(MaxFlows));
        if (MemoryBudgetBytes < FlowBlock.Size * CompactFlow.Bytes)
            throw new ArgumentException($"store memory budget must be at least {FlowBlock.Size * CompactFlow.Bytes / 1024} KiB, not {MemoryBudgetBytes} bytes", nameof(MemoryBudgetBytes));
        if (MaxStrings < 16) throw new ArgumentException($"store max strings must be at least 16, not {MaxStrings}", nameof(MaxStrings));
        if (MaxEndpoints < 16) throw new ArgumentException($"store max endpoints must be at least 16, not {MaxEndpoints}", nameof(MaxEndpoints));
        if (MaxLabelSets < 16) throw new ArgumentException($"store max label sets must be at least 16, not {MaxLabelSets}", nameof(MaxLabelSets));
    }

    /// <summary>Entries actually kept: the smaller bound, rounded up to whole blocks.</summary>
    public int Capacity
    {
        get
        {
            var byBudget = MemoryBudgetBytes / (CompactFlow.Bytes + FlowBlock.IndexBytesPerFlow);
            var flows = (int)Math.Min(MaxFlows, Math.Min(byBudget, int.MaxValue - 2 * FlowBlock.Size));   // room for the spare block
            return (flows + FlowBlock.Size - 1) / FlowBlock.Size * FlowBlock.Size;
        }
    }
}
