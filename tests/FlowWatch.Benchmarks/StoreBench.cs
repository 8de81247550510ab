using System.Diagnostics;
using FlowWatch.Flows;
using FlowWatch.Simulation;
using FlowWatch.Store;

namespace FlowWatch.Benchmarks;

/// <summary>The recent-flow store filled to its bound with simulator flows: bytes per retained flow and the time of each common query.</summary>
public static class StoreBench
{
    public static void Run(int? flows, int repeats)
    {
        var (store, generator, converter, start, duration, rate) = Fill(flows);
        var options = flows is { } n ? new FlowStoreOptions { MaxFlows = n } : FlowStoreOptions.Default;
        // The store's own cost per flow: records converted beforehand, added round and round to the full ring.
        var sample = generator.Generate(start, TimeSpan.FromSeconds(100)).Where(r => r.Flow is not null).Select(r => converter.Convert(r.Flow)).ToList();
        var addWatch = Stopwatch.StartNew();
        const int Adds = 2_000_000;
        for (var i = 0; i < Adds; i++) store.Add(sample[i % sample.Count]);
        addWatch.Stop();
        Console.WriteLine($"store.add_only_flows_per_second: {Adds / addWatch.Elapsed.TotalSeconds:F0}");
        Console.WriteLine($"store.add_only_ns_per_flow: {addWatch.Elapsed.TotalNanoseconds / Adds:F0}");
        sample = null;
        // Back to simulator order at the newest end, so the queries below see a realistic ring.
        foreach (var response in generator.Generate(start + duration, TimeSpan.FromSeconds(options.Capacity / rate * 1.05)))
            if (response.Flow is not null) store.Add(converter.Convert(response.Flow));

        var newest = store.Query(new FlowQuery { Limit = 1 }).Flows[0];
        var drop = store.Query(new FlowQuery { Verdict = Verdict.Dropped, Limit = 1 }).Flows[0];
        var dropPod = drop.Source.Pod.Length > 0 ? drop.Source : drop.Destination;
        var oldest = store.Query(new FlowQuery { Before = store.Written - store.Count + 1, Limit = 1 });
        var rareIp = RareIp(store);
        var queries = new (string Name, FlowQuery Query)[]
        {
            ("newest_100", new FlowQuery()),
            ("verdict_dropped", new FlowQuery { Verdict = Verdict.Dropped }),
            ("namespace", new FlowQuery { Namespace = dropPod.Namespace }),
            ("pod", new FlowQuery { Pod = $"{dropPod.Namespace}/{dropPod.Pod}" }),
            ("pod_dropped", new FlowQuery { Pod = $"{dropPod.Namespace}/{dropPod.Pod}", Verdict = Verdict.Dropped }),
            ("workload", new FlowQuery { Workload = dropPod.Workload }),
            ("reason", new FlowQuery { DropReason = drop.DropReason }),
            ("node", new FlowQuery { Node = newest.Node }),
            ("port_53", new FlowQuery { Port = 53 }),
            ("ip_seen_long_ago", new FlowQuery { Ip = rareIp }),
            ("last_minute", new FlowQuery { SinceNanos = newest.TimeNanos - 60_000_000_000 }),
            ("ten_minutes_ago_1m", new FlowQuery { SinceNanos = newest.TimeNanos - 660_000_000_000, UntilNanos = newest.TimeNanos - 600_000_000_000 }),
            ("no_such_verdict", new FlowQuery { Verdict = Verdict.Error }),
            // Both keys are in nearly every block, never on one endpoint: the worst case, a scan of the whole ring.
            ("full_scan_no_match", new FlowQuery { Namespace = "kube-system", Workload = dropPod.Workload }),
        };
        foreach (var (name, query) in queries)
        {
            var q = query with { Limit = 100 };
            store.Query(q);   // warm-up
            var times = new double[Math.Max(repeats, 1) * 20];
            var matches = 0;
            long scanned = 0;
            for (var i = 0; i < times.Length; i++)
            {
                var t = Stopwatch.GetTimestamp();
                var page = store.Query(q);
                times[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                matches = page.Flows.Count;
                scanned = page.Scanned;
            }
            Array.Sort(times);
            Console.WriteLine($"store.query.{name}.p50_ms: {times[times.Length / 2]:F3}");
            Console.WriteLine($"store.query.{name}.p99_ms: {times[(int)(times.Length * 0.99)]:F3}");
            Console.WriteLine($"store.query.{name}.matches: {matches}   # scanned {scanned:N0} entries");
        }
        GC.KeepAlive(converter);
    }

    /// <summary>Fills a store to its bound with simulator flows and prints bytes per retained flow.</summary>
    public static (FlowStore Store, TrafficGenerator Generator, FlowConverter Converter, DateTimeOffset Start, TimeSpan Duration, double Rate) Fill(int? flows)
    {
        var options = flows is { } n ? new FlowStoreOptions { MaxFlows = n } : FlowStoreOptions.Default;
        // An hour of a 1,000 flows/s cluster (every scenario on) is more than the default bound holds.
        var rate = 1_000.0;
        var start = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        var generator = new TrafficGenerator(1, 5, ScenarioSet.All, rate);
        var converter = new FlowConverter(new StringPool());
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var store = new FlowStore(options, factory);
        var watch = Stopwatch.StartNew();
        var duration = TimeSpan.FromSeconds(options.Capacity / rate * 1.05);
        FlowRecord? last = null;
        foreach (var response in generator.Generate(start, duration))
        {
            if (response.Flow is null) continue;
            last = converter.Convert(response.Flow);
            store.Add(last);
        }
        watch.Stop();
        last = null;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine($"# store: {store.Count:N0} flows retained of {store.Written:N0} written ({store.Evicted:N0} evicted), filled in {watch.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"store.capacity: {store.Capacity}");
        Console.WriteLine($"store.retained_flows: {store.Count}");
        Console.WriteLine($"store.add_flows_per_second: {store.Written / watch.Elapsed.TotalSeconds:F0}   # generator and converter included");
        Console.WriteLine($"store.bytes_per_retained_flow: {(after - before) / (double)store.Count:F1}");
        return (store, generator, converter, start, duration, rate);
    }

    /// <summary>An IP seen in few flows near the oldest end: the query must reach far back.</summary>
    private static IpAddr RareIp(FlowStore store)
    {
        var old = store.Query(new FlowQuery { Before = store.Written - store.Count + 5000, Limit = 5000 }).Flows;
        var counts = old.GroupBy(f => f.Source.Ip).OrderBy(g => g.Count()).First();
        return counts.Key;
    }
}
