using k8s.Models;

namespace FlowWatch.Benchmarks.Kubernetes;

/// <summary>API objects the size real ones are: a pod of ~4 KB of JSON (labels, annotations, two containers with env, status), services and their EndpointSlices.</summary>
internal static class ScaleKubeObjects
{
    private static readonly DateTime T0 = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly string LastApplied = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"spec\":{" + new string('x', 1400) + "}}";

    public static string PodIp(int i) => $"10.{64 + i / 65536}.{i / 256 % 256}.{i % 256}";

    public static string NodeName(int i, int pods) => $"node-{i % Math.Max(1, pods / 20):D5}";

    public static V1Pod Pod(int i, int services, int pods)
    {
        var service = i % services;
        var ns = $"team-{service % 200:D3}";
        var rs = $"svc-{service:D5}-7f9c8d6b5";
        return new V1Pod
        {
            ApiVersion = "v1", Kind = "Pod",
            Metadata = new V1ObjectMeta
            {
                NamespaceProperty = ns, Name = $"{rs}-{i:D6}", Uid = $"6b1f2c3d-{i:D8}-4e5f-8a9b-0c1d2e3f4a5b",
                CreationTimestamp = T0,
                Labels = new Dictionary<string, string>
                {
                    ["app"] = $"svc-{service:D5}", ["pod-template-hash"] = "7f9c8d6b5", ["team"] = ns,
                    ["app.kubernetes.io/part-of"] = "shop", ["app.kubernetes.io/version"] = "1.24.3",
                },
                Annotations = new Dictionary<string, string>
                {
                    ["kubectl.kubernetes.io/last-applied-configuration"] = LastApplied,
                    ["prometheus.io/scrape"] = "true", ["prometheus.io/port"] = "9090",
                },
                OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = rs, Uid = $"uid-{rs}", Controller = true, BlockOwnerDeletion = true }],
            },
            Spec = new V1PodSpec
            {
                NodeName = NodeName(i, pods), ServiceAccountName = "default", RestartPolicy = "Always",
                Containers = [Container("app", 8080), Container("sidecar", 15090)],
            },
            Status = new V1PodStatus
            {
                Phase = "Running", PodIP = PodIp(i), HostIP = $"192.168.{i / 5000 % 256}.{i % 250}", StartTime = T0, QosClass = "Burstable",
                PodIPs = [new V1PodIP { Ip = PodIp(i) }],
                Conditions = new[] { "Initialized", "Ready", "ContainersReady", "PodScheduled" }
                    .Select(t => new V1PodCondition { Type = t, Status = "True", LastTransitionTime = T0 }).ToList(),
                ContainerStatuses = new[] { "app", "sidecar" }.Select(c => new V1ContainerStatus
                {
                    Name = c, Ready = true, RestartCount = 0, Image = $"registry.example.com/shop/{c}:1.24.3",
                    ImageID = $"registry.example.com/shop/{c}@sha256:{new string('a', 64)}", ContainerID = $"containerd://{new string('b', 64)}",
                    State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = T0 } },
                }).ToList(),
            },
        };
    }

    private static V1Container Container(string name, int port) => new()
    {
        Name = name, Image = $"registry.example.com/shop/{name}:1.24.3", ImagePullPolicy = "IfNotPresent",
        Ports = [new V1ContainerPort { ContainerPort = port, Name = "http", Protocol = "TCP" }],
        Env = Enumerable.Range(0, 8).Select(e => new V1EnvVar { Name = $"SETTING_{e}", Value = $"value-of-setting-{e}-for-{name}" }).ToList(),
        Resources = new V1ResourceRequirements
        {
            Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("128Mi") },
            Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("256Mi") },
        },
        VolumeMounts = [new V1VolumeMount { Name = "kube-api-access", MountPath = "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnlyProperty = true }],
    };

    /// <summary>One service in five is a NodePort (the view keeps backends only for those), the rest ClusterIP.</summary>
    public static V1Service Service(int s) => new()
    {
        ApiVersion = "v1", Kind = "Service",
        Metadata = new V1ObjectMeta { NamespaceProperty = $"team-{s % 200:D3}", Name = $"svc-{s:D5}", Uid = $"uid-svc-{s}", Labels = new Dictionary<string, string> { ["app"] = $"svc-{s:D5}" } },
        Spec = new V1ServiceSpec
        {
            Type = s % 5 == 0 ? "NodePort" : "ClusterIP", ClusterIP = $"172.20.{s / 256 % 256}.{s % 256}",
            Selector = new Dictionary<string, string> { ["app"] = $"svc-{s:D5}" },
            Ports = [new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP", TargetPort = 8080, NodePort = s % 5 == 0 ? 30000 + s % 2000 : null }],
        },
    };

    /// <summary>The slice of service <paramref name="s"/>: every pod i with i % services == s.</summary>
    public static V1EndpointSlice Slice(int s, int services, int pods) => new()
    {
        ApiVersion = "discovery.k8s.io/v1", Kind = "EndpointSlice", AddressType = "IPv4",
        Metadata = new V1ObjectMeta
        {
            NamespaceProperty = $"team-{s % 200:D3}", Name = $"svc-{s:D5}-abcde", Uid = $"uid-slice-{s}",
            Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = $"svc-{s:D5}", ["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io" },
        },
        Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
        Endpoints = Enumerable.Range(0, (pods - s + services - 1) / services).Select(k => s + k * services).Select(i => new V1Endpoint
        {
            Addresses = [PodIp(i)], NodeName = NodeName(i, pods),
            Conditions = new V1EndpointConditions { Ready = true, Serving = true, Terminating = false },
            TargetRef = new V1ObjectReference { Kind = "Pod", Name = $"svc-{s:D5}-7f9c8d6b5-{i:D6}", NamespaceProperty = $"team-{s % 200:D3}" },
        }).ToList(),
    };
}
