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
        return builder.Build();
    }

    /// <summary>Builds the host, starts it, and runs until <paramref name="ct"/> is cancelled (0) or a component fails and stops it (1).</summary>
    public static async Task<int> RunAsync(WatcherPlan plan, string listen, TimeSpan progressEvery, WatcherSettings settings, CancellationToken ct)
    {
        using var host = Build(plan, listen, progressEvery, settings);
        try { _ = host.Services.GetService<ClusterConnection>(); }
        catch (Exception e) when (e is FileNotFoundException or InvalidOperationException or k8s.Exceptions.KubeConfigException)
        {
            throw new UsageException($"option '--kubeconfig': {e.Message}");
        }
        try { await host.StartAsync(ct).ConfigureAwait(false); }
        catch (ListenException e) { throw new UsageException($"option '--listen': {e.Message}"); }
        await host.WaitForShutdownAsync(ct).ConfigureAwait(false);
        if (ct.IsCancellationRequested) return 0;
        host.Services.GetRequiredService<WatcherConsole>().Warn("stopped because a component failed (its error is logged above)");
        return 1;
    }

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
