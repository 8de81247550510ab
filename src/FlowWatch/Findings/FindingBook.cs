using Prometheus;

namespace FlowWatch.Findings;

/// <summary>All findings of all detectors: the open ones and a bounded list of recently resolved ones.</summary>
/// <remarks>Thread-safe: the pipeline writes, the API reads. Keeps <c>flowwatch_findings{kind,severity}</c>.</remarks>
public sealed class FindingBook
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Finding> _open = new(StringComparer.Ordinal);
    private readonly LinkedList<Finding> _resolved = new();
    // Findings restored from a checkpoint: their first-seen time outlives the restart; "awaiting" until a detector re-raises them.
    private readonly Dictionary<string, DateTimeOffset> _restoredFirstSeen = new(StringComparer.Ordinal);
    private readonly HashSet<string> _awaitingDetector = new(StringComparer.Ordinal);
    private readonly int _resolvedCapacity;
    private readonly Gauge _openGauge;
    private readonly Counter _raised;

    public FindingBook(IMetricFactory metrics, int resolvedCapacity = 1000)
    {
        _resolvedCapacity = resolvedCapacity;
        _openGauge = metrics.CreateGauge("flowwatch_findings", "Open findings by kind and severity.",
            new GaugeConfiguration { LabelNames = ["kind", "severity"] });
        _raised = metrics.CreateCounter("flowwatch_findings_raised_total", "Findings opened since start, by kind.",
            new CounterConfiguration { LabelNames = ["kind"] });
        // Publish zeros for every kind so dashboards and "absent" alerts see the series from the start.
        foreach (var k in Enum.GetValues<FindingKind>())
        {
            _raised.WithLabels(Finding.KindName(k));
            foreach (var s in Enum.GetValues<Severity>())
                _openGauge.WithLabels(Finding.KindName(k), SeverityName(s)).Set(0);
        }
    }

    /// <summary>The cluster every finding recorded here is about; stamped on findings that name none.</summary>
    public string Cluster { get; set; } = ClusterName.Default;

    /// <summary>Every finding ever raised, counted once per Id (for replay reports).</summary>
    public long RaisedTotal { get; private set; }

    public static string SeverityName(Severity s) => s.ToString().ToLowerInvariant();

    /// <summary>
    /// Opens findings a previous FlowWatch had open (its checkpoint), so they do not flap across a restart. When a detector
    /// raises one again it keeps its first-seen time; one no detector raises again is resolved by <see cref="RestoredFindings"/>.
    /// </summary>
    public void Restore(IEnumerable<Finding> findings)
    {
        lock (_gate)
        {
            foreach (var f in findings)
            {
                if (f is null || f.State != FindingState.Open || string.IsNullOrEmpty(f.Id) || _open.ContainsKey(f.Id)) continue;
                _open[f.Id] = Stamp(f);
                _restoredFirstSeen[f.Id] = f.FirstSeen;
                _awaitingDetector.Add(f.Id);
                _openGauge.WithLabels(Finding.KindName(f.Kind), SeverityName(f.Severity)).Inc();
            }
        }
    }

    /// <summary>True while a restored finding has not been raised again by its detector.</summary>
    public bool AwaitingDetector(string id)
    {
        lock (_gate) return _awaitingDetector.Contains(id);
    }

    /// <summary>Records a finding's new state; returns it as recorded (with its cluster, and a restored first-seen time).</summary>
    public Finding Apply(Finding finding)
    {
        finding = Stamp(finding);
        lock (_gate)
        {
            if (_restoredFirstSeen.TryGetValue(finding.Id, out var firstSeen))
            {
                if (firstSeen < finding.FirstSeen) finding = finding with { FirstSeen = firstSeen };
                _awaitingDetector.Remove(finding.Id);
                if (finding.State == FindingState.Resolved) _restoredFirstSeen.Remove(finding.Id);
            }
            if (finding.State == FindingState.Open)
            {
                if (_open.TryGetValue(finding.Id, out var previous))
                {
                    if (previous.Severity != finding.Severity)
                    {
                        _openGauge.WithLabels(Finding.KindName(previous.Kind), SeverityName(previous.Severity)).Dec();
                        _openGauge.WithLabels(Finding.KindName(finding.Kind), SeverityName(finding.Severity)).Inc();
                    }
                }
                else
                {
                    RaisedTotal++;
                    _raised.WithLabels(Finding.KindName(finding.Kind)).Inc();
                    _openGauge.WithLabels(Finding.KindName(finding.Kind), SeverityName(finding.Severity)).Inc();
                }
                _open[finding.Id] = finding;
            }
            else if (_open.Remove(finding.Id, out var previous))
            {
                _openGauge.WithLabels(Finding.KindName(previous.Kind), SeverityName(previous.Severity)).Dec();
                _resolved.AddFirst(finding);
                if (_resolved.Count > _resolvedCapacity) _resolved.RemoveLast();
            }
        }
        return finding;
    }

    /// <summary>The cluster of a finding that names none, from its subject (a ClusterMesh's other clusters, see
    /// <see cref="Clusters.ClusterAttribution"/>); <see cref="Cluster"/> when unset.</summary>
    public Func<FindingSubject, string>? Attribute { get; set; }

    private Finding Stamp(Finding f) => f.Cluster.Length == 0 ? f with { Cluster = Attribute?.Invoke(f.Subject) ?? Cluster } : f;

    public IReadOnlyList<Finding> OpenFindings
    {
        get { lock (_gate) return _open.Values.OrderByDescending(f => f.LastSeen).ToList(); }
    }

    public IReadOnlyList<Finding> RecentlyResolved
    {
        get { lock (_gate) return _resolved.ToList(); }
    }

    /// <summary>Open first (newest first), then resolved (newest first).</summary>
    public IReadOnlyList<Finding> All
    {
        get { lock (_gate) return _open.Values.OrderByDescending(f => f.LastSeen).Concat(_resolved).ToList(); }
    }
}
