using FlowWatch.Kubernetes.Cilium;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Kubernetes.Watching;

/// <summary>Every watch FlowWatch keeps on the API server (see <see cref="RbacRequirements.Base"/>), feeding one <see cref="ClusterView"/>.</summary>
public sealed class ClusterWatcher
{
    private readonly WatchOptions _options;
    private readonly TimeProvider _time;

    public ClusterWatcher(IKubernetes client, ClusterView view, WatchOptions options, KubeWatchMetrics metrics, ILogger log, TimeProvider? time = null)
    {
        _options = options.Validate();
        _time = time ?? TimeProvider.System;
        View = view;
        Watchers =
        [
            new ResourceWatcher<V1Pod, V1PodList>(RbacRequirements.Pods.Resource,
                (next, limit, ct) => client.CoreV1.ListPodForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: ct),
                (rv, timeout, initial, ct) => client.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(watch: true, resourceVersion: rv,
                    allowWatchBookmarks: true, sendInitialEvents: Initial(initial), resourceVersionMatch: Match(initial), timeoutSeconds: timeout, cancellationToken: ct),
                view.Pods, options, metrics, log, _time),
            new ResourceWatcher<V1Service, V1ServiceList>(RbacRequirements.Services.Resource,
                (next, limit, ct) => client.CoreV1.ListServiceForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: ct),
                (rv, timeout, initial, ct) => client.CoreV1.ListServiceForAllNamespacesWithHttpMessagesAsync(watch: true, resourceVersion: rv,
                    allowWatchBookmarks: true, sendInitialEvents: Initial(initial), resourceVersionMatch: Match(initial), timeoutSeconds: timeout, cancellationToken: ct),
                view.Services, options, metrics, log, _time),
            new ResourceWatcher<V1EndpointSlice, V1EndpointSliceList>(RbacRequirements.EndpointSlices.Resource,
                (next, limit, ct) => client.DiscoveryV1.ListEndpointSliceForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: ct),
                (rv, timeout, initial, ct) => client.DiscoveryV1.ListEndpointSliceForAllNamespacesWithHttpMessagesAsync(watch: true, resourceVersion: rv,
                    allowWatchBookmarks: true, sendInitialEvents: Initial(initial), resourceVersionMatch: Match(initial), timeoutSeconds: timeout, cancellationToken: ct),
                view.EndpointSlices, options, metrics, log, _time),
            new ResourceWatcher<V1Node, V1NodeList>(RbacRequirements.Nodes.Resource,
                (next, limit, ct) => client.CoreV1.ListNodeAsync(continueParameter: next, limit: limit, cancellationToken: ct),
                (rv, timeout, initial, ct) => client.CoreV1.ListNodeWithHttpMessagesAsync(watch: true, resourceVersion: rv,
                    allowWatchBookmarks: true, sendInitialEvents: Initial(initial), resourceVersionMatch: Match(initial), timeoutSeconds: timeout, cancellationToken: ct),
                view.Nodes, options, metrics, log, _time),
            Custom<V2CiliumEndpoint, V2CiliumEndpointList>(client, V2CiliumEndpoint.Group, V2CiliumEndpoint.Version,
                V2CiliumEndpoint.Plural, view.CiliumEndpoints, metrics, log),
            Custom<V2CiliumNode, V2CiliumNodeList>(client, V2CiliumNode.Group, V2CiliumNode.Version,
                V2CiliumNode.Plural, view.CiliumNodes, metrics, log),
        ];
    }

    // Watch-list parameters: sent only when streaming, so a plain watch is the request every server understands.
    private static bool? Initial(bool initial) => initial ? true : null;
    private static string? Match(bool initial) => initial ? "NotOlderThan" : null;

    public ClusterView View { get; }
    public IReadOnlyList<IResourceWatcher> Watchers { get; }

    public IResourceWatcher Watcher(string resource) => Watchers.First(w => w.Resource == resource);

    /// <summary>True when the CiliumEndpoint watch is live: only then does "no CiliumEndpoint" mean "not managed".</summary>
    public bool CiliumEndpointsWatched => Watcher(RbacRequirements.CiliumEndpoints.Resource).Status == WatcherStatus.Watching;

    private ResourceWatcher<T, TList> Custom<T, TList>(IKubernetes client, string group, string version, string plural,
        IResourceHandler<T> handler, KubeWatchMetrics metrics, ILogger log)
        where T : IKubernetesObject<V1ObjectMeta>
        where TList : IKubernetesObject<V1ListMeta>, IItems<T> =>
        new(plural,
            (next, limit, ct) => client.CustomObjects.ListClusterCustomObjectAsync<TList>(group, version, plural,
                continueParameter: next, limit: limit, cancellationToken: ct),
            (rv, timeout, initial, ct) => client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<TList>(group, version, plural,
                watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct),
            handler, _options, metrics, log, _time, watchList: false);   // the client's custom-object list takes no sendInitialEvents

    public Task RunAsync(CancellationToken ct) => Task.WhenAll(Watchers.Select(w => w.RunAsync(ct)));

    /// <summary>Why the view cannot be trusted now (a watch down, or never synced, for longer than <see cref="WatchOptions.StaleAfter"/>); null when it can.</summary>
    public string? StaleReason()
    {
        var now = _time.GetUtcNow();
        foreach (var w in Watchers)
            if (w.DisconnectedSince is { } since && now - since >= _options.StaleAfter)
                return $"kubernetes {w.Resource} {(w.Relists == 0 ? "not synced" : "disconnected")} for {(now - since).TotalSeconds:F0}s";
        return null;
    }

    /// <summary>True while any watcher is not watching (and not standing down).</summary>
    public bool Stale => StaleReason() is not null;

    /// <summary>True once every watcher has listed (or stood down).</summary>
    public bool Synced => Watchers.All(w => w.Relists > 0 || w.Status == WatcherStatus.Absent);
}
