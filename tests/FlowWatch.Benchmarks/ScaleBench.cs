using System.Diagnostics;
using FlowWatch.Findings;
using FlowWatch.Flows;
using FlowWatch.Hosting;

namespace FlowWatch.Benchmarks;

/// <summary>
/// The scale test: <see cref="ScaleCluster"/>'s traffic through FlowWatch's full pipeline for long enough to fill
/// every bounded structure, with memory sampled over time, and the time from each injected scenario's onset to
/// its finding (event time and wall time).
/// </summary>
/// <remarks>
/// The generator runs between batches and is left out of the timing: flows/s is decode + pipeline only. Each memory
/// sample is the managed heap after a full collection (also outside the timing) and the process working set.
/// </remarks>
public static class ScaleBench
{
    private const long StepNanos = 10_000_000;   // 10 ms of event time per batch
    private const double ChurnPerSecond = 200;

    public static void Run(BenchOptions options)
    {
        var rate = options.ScaleRate > 0 ? options.ScaleRate : 200_000;
        var seconds = options.ScaleSeconds;
        Console.WriteLine($"# scale: {ScaleCluster.Nodes:N0} nodes, {ScaleCluster.Services * ScaleCluster.PodsPerService:N0} pods, {ScaleCluster.Services:N0} services, " +
            $"{ChurnPerSecond} pod replacements/s, {rate:N0} flows/s of event time for {seconds} s of event time");
        var setup = Stopwatch.StartNew();
        var cluster = new ScaleCluster();
        Console.WriteLine($"# scale: cluster built in {setup.Elapsed.TotalSeconds:F1} s");
        var runtime = new FlowWatchRuntime(new RuntimeOptions(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var pipeline = options.ScaleStage is { } stage ? Contenders.StagePipeline(stage) : runtime.Pipeline;
        // Records rented from a pool the pipeline returns them to, as the Hubble client's decoder does in watch.
        var decoder = new FlowWireDecoder
        {
            Records = !pipeline.ReturnsRecords ? null : ReferenceEquals(pipeline, runtime.Pipeline) ? runtime.Records : new FlowRecordPool(),
        };
        Console.WriteLine($"# scale: records {(decoder.Records is null ? "not pooled (a stage keeps them)" : "pooled")}");
        if (options.ScaleStage is not null) Console.WriteLine($"# scale: stage {options.ScaleStage} only");
        var start = FlowRecord.ToNanos(new DateTimeOffset(2026, 12, 1, 13, 0, 0, TimeSpan.Zero));
        var end = start + (long)(seconds * 1e9);
        var dnsOnset = start + (long)(seconds * 0.75 * 1e9);
        var dupOnset = start + (long)(seconds * 0.8 * 1e9);
        const int DropService = 4242, ImpostorService = 777;
        var dropWorkload = "";
        ScaleCluster.Pod? original = null, impostor = null;
        var timing = new Stopwatch();
        var timedPause = TimeSpan.Zero;
        var ledger = new GcLedger();
        var process = Process.GetCurrentProcess();
        var cpuTimed = TimeSpan.Zero;
        var wall = Stopwatch.StartNew();
        double? dnsOnsetWall = null, dupOnsetWall = null;
        (long Event, double Wall)? dnsFound = null, dupFound = null;
        using var findings = pipeline.Findings.Subscribe(f =>
        {
            if (f.State != FindingState.Open) return;
            if (f.Kind == FindingKind.DnsDrops && dnsFound is null && $"{f.Subject.Namespace}/{f.Subject.Workload}" == dropWorkload)
                dnsFound = (FlowRecord.ToNanos(pipeline.Now), wall.Elapsed.TotalSeconds);
            if (f.Kind == FindingKind.DuplicateIp && dupFound is null && impostor is not null && f.Subject.Ip == impostor.Ip)
                dupFound = (FlowRecord.ToNanos(pipeline.Now), wall.Elapsed.TotalSeconds);
        });
        var batch = new List<(long Time, byte[] Bytes)>(4096);
        var scratch = new List<byte[]>(8);
        var samples = new List<(double EventSeconds, long Flows, double HeapMb, double WorkingSetMb, int Reordering, long Forced)>();
        var rng = new Random(11);
        long flows = 0, nextSample = start + 2_000_000_000L;
        var flowsPerStep = rate * StepNanos / 1e9;
        var churnDue = 0.0;
        long nextDrop = dnsOnset, nextDup = dupOnset;
        var allocatedAtSteady = 0L; long flowsAtSteady = 0; var steadyAt = start + (end - start) / 2;
        for (var t = start; t < end; t += StepNanos)
        {
            batch.Clear();
            var produced = 0;
            while (produced < flowsPerStep)
            {
                scratch.Clear();
                var at = t + (long)(rng.NextDouble() * StepNanos);
                cluster.Conversation(at, scratch);
                foreach (var b in scratch) batch.Add((at, b));
                produced += scratch.Count;
            }
            for (churnDue += ChurnPerSecond * StepNanos / 1e9; churnDue >= 1; churnDue--) cluster.Churn(1);
            // Scenario 1: one workload's lookups dropped by policy, 20/s for 15 s.
            for (; nextDrop <= t + StepNanos && nextDrop < dnsOnset + 15_000_000_000L; nextDrop += 50_000_000)
            {
                scratch.Clear();
                dropWorkload = cluster.DnsDropBurst(nextDrop, DropService, scratch);
                batch.Add((nextDrop, scratch[0]));
            }
            // Scenario 2: a new pod of another service gets a live pod's IP; both keep talking, 10 calls/s each.
            if (original is null && t + StepNanos >= dupOnset)
                (original, impostor) = cluster.DuplicateIp(rng.Next(cluster.PodCount), ImpostorService);
            for (; original is not null && nextDup <= t + StepNanos; nextDup += 50_000_000)
            {
                scratch.Clear();
                cluster.CallFrom(nextDup, ((nextDup - dupOnset) / 50_000_000 & 1) == 0 ? impostor! : original, scratch);
                foreach (var b in scratch) batch.Add((nextDup, b));
            }
            batch.Sort((a, b) => a.Time.CompareTo(b.Time));

            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            ledger.Observe();
            var pauseBefore = GC.GetTotalPauseDuration();
            timing.Start();
            foreach (var (time, bytes) in batch)
            {
                if (dnsOnsetWall is null && time >= dnsOnset) dnsOnsetWall = wall.Elapsed.TotalSeconds;
                if (dupOnsetWall is null && time >= dupOnset) dupOnsetWall = wall.Elapsed.TotalSeconds;
                var flow = decoder.Decode(bytes).Flow;
                if (flow is not null) pipeline.Process(flow);
            }
            timing.Stop();
            timedPause += GC.GetTotalPauseDuration() - pauseBefore;
            ledger.Observe();
            process.Refresh();
            cpuTimed += process.TotalProcessorTime - cpuBefore;
            flows += batch.Count;
            if (allocatedAtSteady == 0 && t >= steadyAt) { allocatedAtSteady = GC.GetTotalAllocatedBytes(true); flowsAtSteady = flows; }
            if (t >= nextSample)
            {
                nextSample += 2_000_000_000L;
                ledger.Observe();
                var heap = GC.GetTotalMemory(forceFullCollection: true) / 1048576.0;
                ledger.Skip();
                samples.Add(((t - start) / 1e9, flows, heap, Process.GetCurrentProcess().WorkingSet64 / 1048576.0, pipeline.Reorder.Count, pipeline.Reorder.Forced));
            }
        }
        // Event time runs on past the end so that periodic evaluations see the last flows.
        pipeline.AdvanceTo(DateTimeOffset.UnixEpoch.AddTicks(end / 100) + TimeSpan.FromSeconds(10));

        foreach (var s in samples)
            Console.WriteLine($"# sample t={s.EventSeconds,6:F0}s flows={s.Flows,11:N0} heap_after_gc={s.HeapMb,7:F0} MB working_set={s.WorkingSetMb,7:F0} MB reorder_buffered={s.Reordering:N0} reorder_forced={s.Forced:N0}");
        Console.WriteLine($"scale.flows: {flows}");
        Console.WriteLine($"scale.gc_pause_seconds: {GC.GetTotalPauseDuration().TotalSeconds:F1}   # of {wall.Elapsed.TotalSeconds:F1} s wall, timed part {timing.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"scale.gc_pause_seconds_timed: {timedPause.TotalSeconds:F1}   # GC pauses inside the timed part (decode + pipeline)");
        Console.WriteLine($"scale.gc_share_percent: {100 * timedPause / timing.Elapsed:F1}   # of the timed part's wall time; target <= 10");
        ledger.Print("scale.gc");
        Console.WriteLine($"scale.gc_counts: gen0 {GC.CollectionCount(0)} gen1 {GC.CollectionCount(1)} gen2 {GC.CollectionCount(2)}");
        Console.WriteLine($"scale.pods_replaced: {cluster.Replaced}");
        Console.WriteLine($"scale.flows_per_second: {flows / timing.Elapsed.TotalSeconds:F0}   # decode + full pipeline, generator excluded");
        if (options.ScaleStage is null)
        {
            Targets.Record("scale.flows_per_second", flows / timing.Elapsed.TotalSeconds);
            Targets.Record("scale.gc_share_percent", 100 * timedPause / timing.Elapsed);
        }
        Console.WriteLine($"scale.flows_per_cpu_second: {flows / cpuTimed.TotalSeconds:F0}");
        Console.WriteLine($"scale.steady_allocated_bytes_per_flow: {(GC.GetTotalAllocatedBytes(true) - allocatedAtSteady) / (double)Math.Max(1, flows - flowsAtSteady):F1}   # second half of the run, generator included");
        var tail = samples.Skip(samples.Count / 2).ToList();
        if (tail.Count >= 2)
        {
            Console.WriteLine($"scale.steady_samples: {tail.Count}   # the second half of the samples");
            Console.WriteLine($"scale.steady_heap_mb_min: {tail.Min(s => s.HeapMb):F0}");
            Console.WriteLine($"scale.steady_heap_mb_max: {tail.Max(s => s.HeapMb):F0}");
            Console.WriteLine($"scale.steady_heap_spread_percent: {100 * (tail.Max(s => s.HeapMb) - tail.Min(s => s.HeapMb)) / tail.Min(s => s.HeapMb):F1}");
            Console.WriteLine($"scale.steady_working_set_spread_percent: {100 * (tail.Max(s => s.WorkingSetMb) - tail.Min(s => s.WorkingSetMb)) / tail.Min(s => s.WorkingSetMb):F1}");
        }
        Console.WriteLine($"scale.peak_working_set_mb: {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0}");
        Report("dns_drops", dnsOnset, dnsOnsetWall, dnsFound);
        Report("duplicate_ip", dupOnset, dupOnsetWall, dupFound);
        Console.WriteLine($"scale.store_retained: {runtime.Store.Count}");
        Console.WriteLine($"scale.store_evicted: {runtime.Store.Evicted}");
        Console.WriteLine($"scale.store_names_overflowed: {runtime.Store.NamesOverflowed}");
        Console.WriteLine($"scale.string_pool_entries: {StringPool.Shared.Count}");
        Console.WriteLine($"scale.string_pool_overflow: {StringPool.Shared.Overflow}");
        // Every bounded structure counts what it sheds: the non-zero counters show which ones filled.
        using var text = new MemoryStream();
        runtime.Registry.CollectAndExportAsTextAsync(text).GetAwaiter().GetResult();
        foreach (var line in System.Text.Encoding.UTF8.GetString(text.ToArray()).Split('\n'))
            if (!line.StartsWith('#') && (line.Contains("evicted") || line.Contains("shed") || line.Contains("overflow") || line.Contains("forgotten"))
                && !line.EndsWith(" 0"))
                Console.WriteLine($"# bounded: {line}");
        runtime.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>
    /// The scale run in a child process of this benchmark, its lines passed through: a heap, string pool and GC history
    /// of its own, not the in-process contenders' leftovers.
    /// </summary>
    public static void RunChild(double seconds)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        // Under `dotnet x.dll` the process is the host, and the benchmark its first argument.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(Environment.GetCommandLineArgs()[0]);
        foreach (var a in new[] { "--scale", "--scale-seconds", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) }) start.ArgumentList.Add(a);
        using var child = Process.Start(start)!;
        while (child.StandardOutput.ReadLine() is { } line)
        {
            Console.WriteLine(line);
            foreach (var figure in new[] { "scale.flows_per_second", "scale.gc_share_percent" })
                if (line.StartsWith(figure + ": ", StringComparison.Ordinal) &&
                    double.TryParse(line[(figure.Length + 2)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture, out var v))
                    Targets.Record(figure, v);
        }
        child.WaitForExit();
        if (child.ExitCode != 0) Console.WriteLine($"# scale: the child run exited {child.ExitCode}");
    }

    private static void Report(string name, long onset, double? onsetWall, (long Event, double Wall)? found)
    {
        if (found is not { } f || onsetWall is not { } w) { Console.WriteLine($"scale.{name}.found: 0"); return; }
        Console.WriteLine($"scale.{name}.found: 1");
        Console.WriteLine($"scale.{name}.onset_to_finding_event_seconds: {(f.Event - onset) / 1e9:F2}");
        Console.WriteLine($"scale.{name}.onset_to_finding_wall_seconds: {f.Wall - w:F2}");
    }
}
