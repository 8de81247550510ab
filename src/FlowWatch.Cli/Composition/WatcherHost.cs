using FlowWatch.Cli.CommandLine;
using FlowWatch.Cli.Commands;
using FlowWatch.Cli.Terminal;
using FlowWatch.Hosting;
using FlowWatch.Hosting.Services;
using FlowWatch.Hubble;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Cli.Composition;

/// <summary>The watcher of watch and demo as a .NET Generic Host: each feature added with its <c>services.Add…()</c>, shutdown order from the host.</summary>
/// <remarks>
/// Signals stay with <see cref="ShutdownSignal"/> (the host's own console lifetime is replaced), whose token stops the
/// host: the first Ctrl+C or SIGTERM stops intake, drains the pipeline for at most <see cref="WatcherSettings.DrainTimeout"/>,
/// prints the last status, writes the checkpoint and returns 0; a second one ends the process at once.
/// </remarks>
public static class WatcherHost
{
    public static IHost Build(WatcherPlan plan, string listen, TimeSpan progressEvery, WatcherSettings settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        settings.Logging.Configure(builder.Logging, settings.LiveView);
        var services = builder.Services;
        services.AddSingleton<IHostLifetime, SignalFreeLifetime>();
        // Room for the drain and the checkpoint write; a service that overruns it is abandoned rather than waited for.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.DrainTimeout + TimeSpan.FromSeconds(20));
        services.AddSingleton(settings);
        services.AddSingleton(plan);
        services.AddSingleton<WatcherConsole>();

        services.AddFlowWatchHttp();
        services.AddHostedService<WatcherLifecycleService>();
        services.AddFlowWatchCheckpoint(settings.CheckpointEvery);
        services.AddHostedService(sp => new StatusDisplayService(CreateDisplay(sp, settings), progressEvery));
        services.AddFlowWatchPipeline(sp => new RuntimeOptions
        {
            Listen = listen,
            Security = settings.Security,
            CheckpointPath = settings.CheckpointPath,
            ExtraSinks = settings.ExtraSinks,
            Detectors = settings.Detectors,
            EventTime = settings.EventTime,
            Cluster = settings.Cluster,
            Warn = sp.GetRequiredService<WatcherConsole>().Warn,
        }, new PipelineHostOptions { Live = true, DrainTimeout = settings.DrainTimeout });
        if (plan.ClusterView is null && settings.Kubernetes is { } kube)
        {
            services.AddFlowWatchKubernetes(kube);
            services.AddFlowWatchRemediation();
        }
        services.AddHubbleIntake(plan.Sources);
        TestHooks.AddHostedServices(services);
        return builder.Build();
    }

    /// <summary>Builds the host, starts it, and runs until <paramref name="ct"/> is cancelled (0) or a component fails and stops it (1).</summary>
    /// <remarks>A service that throws while the host stops or is disposed is reported and the checkpoint is still written;
    /// the exit code is then 1, never an unhandled exception (a crash dump and exit 134 for what is an error to report).</remarks>
    public static async Task<int> RunAsync(WatcherPlan plan, string listen, TimeSpan progressEvery, WatcherSettings settings, CancellationToken ct)
    {
        var host = Build(plan, listen, progressEvery, settings);
        var code = 1;
        try { code = await RunAsync(host, ct).ConfigureAwait(false); }
        finally
        {
            var console = host.Services.GetRequiredService<WatcherConsole>();
            try
            {
                await ((IAsyncDisposable)host).DisposeAsync().ConfigureAwait(false);
                StopTrace.Mark("host: disposed");
            }
            catch (Exception e)
            {
                console.Warn($"failed while closing down: {Describe(e)}");
                code = 1;
            }
        }
        return code;
    }

    private static async Task<int> RunAsync(IHost host, CancellationToken ct)
    {
        try { _ = host.Services.GetService<ClusterConnection>(); }
        catch (Exception e) when (e is FileNotFoundException or InvalidOperationException or k8s.Exceptions.KubeConfigException)
        {
            throw new UsageException($"option '--kubeconfig': {e.Message}");
        }
        try { await host.StartAsync(ct).ConfigureAwait(false); }
        catch (ListenException e) { throw new UsageException($"option '--listen': {e.Message}"); }
        var console = host.Services.GetRequiredService<WatcherConsole>();
        try
        {
            await host.WaitForShutdownAsync(ct).ConfigureAwait(false);
            StopTrace.Mark("host: stopped");
        }
        catch (Exception e)
        {
            // The host stops every service even when one throws, then throws itself; the checkpoint may be what failed.
            console.Warn($"failed while stopping: {Describe(e)}");
            SaveCheckpointIfMissed(host, console);
            return 1;
        }
        if (ct.IsCancellationRequested) return 0;
        console.Warn("stopped because a component failed (its error is logged above)");
        return 1;
    }

    private static void SaveCheckpointIfMissed(IHost host, WatcherConsole console)
    {
        var checkpoint = host.Services.GetRequiredService<CheckpointService>();
        if (checkpoint.SavedAtStop || host.Services.GetRequiredService<FlowWatchRuntime>().Checkpoints is not { } keeper) return;
        try
        {
            keeper.Save();
            console.Say($"flowwatch: checkpoint written to {keeper.Path}");
        }
        catch (Exception e) { console.Warn($"cannot write checkpoint {keeper.Path}: {Describe(e)}"); }
    }

    private static string Describe(Exception e) => e switch
    {
        AggregateException { InnerExceptions.Count: > 0 } all => string.Join("; ", all.InnerExceptions.Select(Describe)),
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    private static IStatusDisplay CreateDisplay(IServiceProvider sp, WatcherSettings settings)
    {
        var runtime = sp.GetRequiredService<FlowWatchRuntime>();
        var sources = sp.GetRequiredService<HubbleSources>();
        var status = new WatchStatus(runtime.Pipeline, runtime.Intake, sources.Describe, () => sources.LostEvents);
        if (settings.LiveView) return new LiveView(status, Spectre.Console.AnsiConsole.Console, settings.Title);
        return settings.Logging.Json
            ? new Logging.LoggingStatusDisplay(status, sp.GetRequiredService<ILoggerFactory>())
            : new ProgressPrinter(status, Console.Out);
    }
}
