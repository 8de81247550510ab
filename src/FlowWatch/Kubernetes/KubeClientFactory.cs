using k8s;

namespace FlowWatch.Kubernetes;

/// <summary>Builds the Kubernetes client from a kubeconfig (<c>--kubeconfig</c>, <c>--context</c>) or, inside a pod, from the service account.</summary>
public static class KubeClientFactory
{
    /// <summary>The client configuration; null when neither a kubeconfig is given nor FlowWatch runs in a cluster.</summary>
    public static KubernetesClientConfiguration? Configure(string? kubeconfig, string? context)
    {
        if (kubeconfig is not null || context is not null)
        {
            var path = kubeconfig ?? Environment.GetEnvironmentVariable("KUBECONFIG")?.Split(Path.PathSeparator)[0]
                ?? KubernetesClientConfiguration.KubeConfigDefaultLocation;
            if (!File.Exists(path)) throw new FileNotFoundException($"kubeconfig {path} does not exist", path);
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(path, currentContext: context);
        }
        return KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig() : null;
    }
}
