namespace FlowWatch.Benchmarks;

/// <summary>Which garbage collections cost the pause time of a run: per generation, their count, pause and what they promoted.</summary>
/// <remarks>
/// Looks at the runtime's record of the latest collection each time it is called (between batches), so a batch
/// that saw two collections records only the second; <see cref="Print"/> says how many were seen of how many ran.
/// </remarks>
public sealed class GcLedger
{
    private readonly long[] _count = new long[3];
    private readonly double[] _pauseMs = new double[3];
    private readonly double[] _promotedMb = new double[3];
    private readonly double[] _heapAfterMb = new double[3];
    private readonly long _startCount = GC.CollectionCount(0);
    private long _skipped;
    private long _lastIndex = GC.GetGCMemoryInfo(GCKind.Any).Index;

    public void Observe()
    {
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        if (info.Index == _lastIndex || info.Index == 0) return;
        _lastIndex = info.Index;
        var gen = Math.Clamp(info.Generation, 0, 2);
        _count[gen]++;
        foreach (var p in info.PauseDurations) _pauseMs[gen] += p.TotalMilliseconds;
        _promotedMb[gen] += info.PromotedBytes / 1048576.0;
        _heapAfterMb[gen] += info.HeapSizeBytes / 1048576.0;
    }

    /// <summary>Leaves out the latest collection (one the benchmark forced to sample the heap).</summary>
    public void Skip()
    {
        _lastIndex = GC.GetGCMemoryInfo(GCKind.Any).Index;
        _skipped++;
    }

    public void Print(string prefix)
    {
        var seen = _count.Sum();
        Console.WriteLine($"# {prefix}: {seen} of {GC.CollectionCount(0) - _startCount} collections seen between batches, {_skipped} forced for heap samples left out");
        for (var g = 0; g < 3; g++)
        {
            if (_count[g] == 0) continue;
            Console.WriteLine($"{prefix}.gen{g}: {_count[g]} collections, pause {_pauseMs[g] / 1000:F2} s " +
                $"(mean {_pauseMs[g] / _count[g]:F1} ms), promoted mean {_promotedMb[g] / _count[g]:F1} MB, heap after mean {_heapAfterMb[g] / _count[g]:F0} MB");
        }
    }
}
