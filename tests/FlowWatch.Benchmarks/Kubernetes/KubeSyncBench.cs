using System.Diagnostics;
using FlowWatch.Kubernetes;
using FlowWatch.Kubernetes.Watching;
using FlowWatch.Tests.Kube;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Benchmarks.Kubernetes;

/// <summary><c>./bench.sh --kube-sync</c>: FlowWatch's cluster watcher syncing a 100,000-pod cluster from the fake API server, with sync time, peak and steady memory.</summary>
/// <remarks>
/// The fake API server runs in a child process (this executable with <c>--kube-api-serve</c>), so the figures are
/// FlowWatch's alone: the server holds ~0.5 GB of JSON that would otherwise count. Peak managed heap is
/// <see cref="GC.GetTotalMemory(bool)"/> sampled every 10 ms during the sync (live objects plus garbage not yet
/// collected, which is what the process must have room for); steady heap is the same after two full collections
/// once synced; peak RSS is the kernel's high-water mark.
/// </remarks>
internal static class KubeSyncBench
{
    public const string Usage =
        "usage: FlowWatch.Benchmarks --kube-sync [--pods N] [--services N] [--list-limit N] [--no-watch-list]\n" +
        "Syncs N pods (default 100,000, ~4 KB of JSON each), N services (default 10,000, one in five NodePort) and one\n" +
        "EndpointSlice per service from a fake API server in a child process; prints sync time, peak managed heap, peak\n" +
        "RSS and steady heap. --list-limit 0 lists unpaged (as FlowWatch did before paging).";

    public static int Run(string[] args)
    {
        int pods = 100_000, services = 10_000;
        int? limit = null;
        var watchList = true;
        var serve = false;
        for (var i = 0; i < args.Length; i++)
        {
            string? Next() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--kube-sync": break;
                case "--kube-api-serve": serve = true; break;
                case "--pods" when int.TryParse(Next(), out var p) && p > 0: pods = p; break;
                case "--services" when int.TryParse(Next(), out var s) && s > 0: services = s; break;
                case "--list-limit" when int.TryParse(Next(), out var l) && l >= 0: limit = l; break;
                case "--no-watch-list": watchList = false; break;
                default: Console.Error.WriteLine(Usage); return 1;
            }
        }
        return serve ? Serve(pods, services) : Sync(args, pods, services, limit, watchList);
    }

    private static int Serve(int pods, int services)
    {
        var api = FakeApiServer.StartAsync().GetAwaiter().GetResult();
        api.CiliumEndpoints.Absent = true;
        api.CiliumNodes.Absent = true;
        for (var s = 0; s < services; s++) { api.Services.Put(ScaleKubeObjects.Service(s)); api.EndpointSlices.Put(ScaleKubeObjects.Slice(s, services, pods)); }
        for (var i = 0; i < pods; i++) api.Pods.Put(ScaleKubeObjects.Pod(i, services, pods));
        Console.WriteLine($"address {api.Address}");
        Console.Out.Flush();
        Console.In.ReadToEnd();   // until the parent closes stdin
        api.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }

    private static int Sync(string[] args, int pods, int services, int? limit, bool watchList)
    {
        using var server = StartServer(pods, services, out var address);
        Console.WriteLine($"# kube-sync: {pods:N0} pods, {services:N0} services and EndpointSlices from a fake API server in process {server.Id}");
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        var options = Options(limit, watchList);
        var metrics = new KubeWatchMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        long published = 0;
        var view = new ClusterView(_ => Interlocked.Increment(ref published), options, metrics);
        var client = new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = address.TrimEnd('/') });
        var watcher = new ClusterWatcher(client, view, options, metrics, NullLogger.Instance);

        long peakHeap = 0;
        var sampling = true;
        var sampler = new Thread(() =>
        {
            while (Volatile.Read(ref sampling))
            {
                peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false));
                Thread.Sleep(10);
            }
        }) { IsBackground = true };
        sampler.Start();
        using var cts = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var run = watcher.RunAsync(cts.Token);
        long lastDebug = 0;
        while (!(watcher.Synced && view.Pods.Count == pods && view.Services.Count == services && view.EndpointSlices.Count == services))
        {
            if (run.IsCompleted) { Console.Error.WriteLine("kube-sync: the watcher stopped before the view synced"); return 2; }
            if (clock.Elapsed > TimeSpan.FromMinutes(30)) { Console.Error.WriteLine($"kube-sync: not synced after 30 minutes ({view.Pods.Count:N0} pods)"); return 2; }
            Thread.Sleep(5);
            if (Environment.GetEnvironmentVariable("KUBE_SYNC_DEBUG") is not null && clock.ElapsedMilliseconds / 1000 > lastDebug && (lastDebug = clock.ElapsedMilliseconds / 1000) > 0)
                Console.WriteLine($"# {clock.Elapsed.TotalSeconds:F0}s " + string.Join(" ", watcher.Watchers.Select(w => $"{w.Resource}={w.Status}/{w.Relists}")) + $" pods={view.Pods.Count}");
        }
        var syncSeconds = clock.Elapsed.TotalSeconds;
        Volatile.Write(ref sampling, false);
        sampler.Join();
        var peakRss = Process.GetCurrentProcess().PeakWorkingSet64;
        Thread.Sleep(2000);   // watches open and idle: the state FlowWatch then stays in
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var steady = GC.GetTotalMemory(forceFullCollection: true);
        var rss = Process.GetCurrentProcess().WorkingSet64;
        cts.Cancel();
        try { run.Wait(TimeSpan.FromSeconds(10)); } catch (AggregateException) { }

        static double Mb(long b) => b / 1048576.0;
        var mode = Mode(limit, watchList);
        Console.WriteLine($"kube_sync.mode: {mode}");
        Console.WriteLine($"# load average {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine($"kube_sync.pods: {view.Pods.Count}");
        Console.WriteLine($"kube_sync.events_published: {published}");
        Console.WriteLine($"kube_sync.sync_seconds: {syncSeconds:F1}");
        Console.WriteLine($"kube_sync.peak_managed_heap_mb: {Mb(peakHeap - baseline):F0}");
        Console.WriteLine($"kube_sync.peak_rss_mb: {Mb(peakRss):F0}");
        Console.WriteLine($"kube_sync.steady_heap_mb: {Mb(steady - baseline):F0}");
        Console.WriteLine($"kube_sync.steady_rss_mb: {Mb(rss):F0}");
        var ratio = (double)(peakHeap - baseline) / (steady - baseline);
        // The bound the README states: a page of typed objects and the garbage the GC has not yet collected, no more.
        var bound = watchList ? 1.5 : limit == 0 ? double.PositiveInfinity : 2.0;
        Console.WriteLine($"kube_sync.peak_to_steady_heap: {ratio:F2}");
        Console.WriteLine($"kube_sync.peak_to_steady_bound: {bound:F1}");
        Console.WriteLine($"kube_sync.within_bound: {(ratio <= bound ? "yes" : "NO")}");
        server.StandardInput.Close();
        if (!server.WaitForExit(10_000)) server.Kill();
        return ratio <= bound ? 0 : 3;
    }

    private static WatchOptions Options(int? limit, bool watchList) =>
        new() { ListPageSize = limit ?? new WatchOptions().ListPageSize, WatchList = watchList };

    private static string Mode(int? limit, bool watchList) =>
        watchList ? "watch-list streaming (sendInitialEvents)" : limit == 0 ? "unpaged list" : $"paged list, limit {limit ?? new WatchOptions().ListPageSize}";

    private static Process StartServer(int pods, int services, out string address)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(KubeSyncBench).Assembly.Location);
        foreach (var a in new[] { "--kube-api-serve", "--pods", pods.ToString(), "--services", services.ToString() }) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        var line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the fake API server process exited before it listened");
        address = line.StartsWith("address ", StringComparison.Ordinal) ? line[8..] : throw new InvalidOperationException(line);
        return process;
    }
}
