namespace FlowWatch.Detectors.Dns;

/// <summary>One client workload's current drop episode: counts by reason, names, pods and datapath reasons.</summary>
/// <remarks>
/// An episode starts with the first drop after a quiet spell and ends when its finding resolves (or,
/// when no finding opened, when the next drop comes after a quiet period). Lookups are counted only
/// during an episode: they are the denominator of the drop ratio, not traffic statistics.
/// </remarks>
internal sealed class DnsWorkloadState(WorkloadKey key)
{
    public const int MaxSamplePods = 5;
    public const int MaxNodes = 5;

    public readonly WorkloadKey Key = key;
    public long LastActivityTicks;

    public bool Active;
    public bool Dirty;
    public long EpisodeStartTicks;
    public long LastDropTicks;
    public long Lookups;
    /// <summary>No-answers seen from L3/L4 flows alone (no DNS proxy visibility), and those the client retried.</summary>
    public long NoAnswerDatapath, NoAnswerRetried;
    public readonly long[] Drops = new long[DnsDropReason.Count];
    public readonly Dictionary<string, long> Names = new(StringComparer.Ordinal);
    public long OtherNames;
    public readonly Dictionary<string, long> DatapathReasons = new(StringComparer.Ordinal);
    public readonly List<string> SamplePods = new(MaxSamplePods);
    public readonly List<string> Nodes = new(MaxNodes);

    public long TotalDrops
    {
        get
        {
            long t = 0;
            foreach (var d in Drops) t += d;
            return t;
        }
    }

    public void StartEpisode(long ticks)
    {
        Active = true;
        Dirty = false;
        EpisodeStartTicks = ticks;
        Lookups = 0;
        NoAnswerDatapath = 0;
        NoAnswerRetried = 0;
        Array.Clear(Drops);
        Names.Clear();
        OtherNames = 0;
        DatapathReasons.Clear();
        SamplePods.Clear();
        Nodes.Clear();
    }

    public void EndEpisode()
    {
        Active = false;
        Dirty = false;
    }

    public void AddName(string query, int maxNames)
    {
        if (query.Length == 0) return;
        if (Names.TryGetValue(query, out var n)) Names[query] = n + 1;
        else if (Names.Count < maxNames) Names[query] = 1;
        else OtherNames++;
    }

    public void AddPod(string display)
    {
        if (display.Length != 0 && SamplePods.Count < MaxSamplePods && !SamplePods.Contains(display)) SamplePods.Add(display);
    }

    public void AddNode(string node)
    {
        if (node.Length != 0 && Nodes.Count < MaxNodes && !Nodes.Contains(node)) Nodes.Add(node);
    }

    public void AddDatapathReason(string reason)
    {
        if (reason.Length == 0) reason = "UNKNOWN";
        DatapathReasons[reason] = DatapathReasons.TryGetValue(reason, out var n) ? n + 1 : 1;
    }

    public IReadOnlyList<KeyValuePair<string, long>> TopNames(int count) =>
        Names.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(count).ToList();
}
