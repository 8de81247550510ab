using FlowWatch.Flows;

namespace FlowWatch.Simulation;

/// <summary>A Deployment or DaemonSet of the simulated cluster with its pods, port and (ClusterIP) service.</summary>
public sealed class SimWorkload
{
    private readonly List<SimPod> _pods = [];

    internal SimWorkload(string ns, string name, string kind, uint identity, int port, string protocol, bool http,
        IReadOnlyList<string> labels, IpAddr serviceIp)
    {
        Namespace = ns;
        Name = name;
        Kind = kind;
        Identity = identity;
        Port = port;
        Protocol = protocol;
        Http = http;
        Labels = labels;
        ServiceIp = serviceIp;
    }

    public string Namespace { get; }
    public string Name { get; }
    /// <summary>Deployment or DaemonSet.</summary>
    public string Kind { get; }
    /// <summary>Cilium security identity shared by the pods (derived from their labels).</summary>
    public uint Identity { get; }
    /// <summary>Port the pods serve on (the service's target port).</summary>
    public int Port { get; }
    /// <summary>"TCP" or "UDP".</summary>
    public string Protocol { get; }
    /// <summary>Whether Cilium's proxy has HTTP visibility on the port (L7 flows).</summary>
    public bool Http { get; }
    public IReadOnlyList<string> Labels { get; }
    /// <summary>ClusterIP of the service of the same name; none for workloads without one.</summary>
    public IpAddr ServiceIp { get; }
    public IReadOnlyList<SimPod> Pods => _pods;

    /// <summary>Name of the ClusterIP service in front of the pods (kube-dns for coredns).</summary>
    public string ServiceName { get; internal set; } = "";

    /// <summary>"service.namespace.svc.cluster.local." as a resolver asks for it.</summary>
    public string ServiceFqdn => $"{ServiceName}.{Namespace}.svc.cluster.local.";

    /// <summary>The replica-set hash in the pod names.</summary>
    internal string Hash { get; set; } = "";

    internal void Add(SimPod pod) => _pods.Add(pod);

    public override string ToString() => $"{Namespace}/{Name}";
}
