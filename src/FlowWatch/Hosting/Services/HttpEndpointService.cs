using Microsoft.Extensions.Hosting;

namespace FlowWatch.Hosting.Services;

/// <summary>Opens the runtime's HTTP side (/metrics, probes, API) at start.</summary>
/// <remarks>Nothing happens at stop: the endpoint closes when the host disposes the runtime, after every other service has
/// stopped, so /readyz and /metrics answer throughout shutdown.</remarks>
public sealed class HttpEndpointService(FlowWatchRuntime runtime) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try { await runtime.StartHttpAsync(cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or FormatException)
        {
            throw new ListenException(runtime.Options.Listen, e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The HTTP endpoint could not listen where it was told to (address in use, not an address of this host).</summary>
public sealed class ListenException(string listen, Exception inner)
    : Exception($"cannot listen on {listen}: {inner.Message}", inner)
{
    public string Listen { get; } = listen;
}
