using FlowWatch.Kubernetes;
using FlowWatch.Tests.Support;
using k8s;
using k8s.Models;

namespace FlowWatch.Tests.Kube;

/// <summary>The Prometheus Operator's ServiceMonitor, typed just enough for strict loading (unknown fields fail).</summary>
public sealed class ServiceMonitor : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = "";
    public string Kind { get; set; } = "";
    public V1ObjectMeta Metadata { get; set; } = new();
    public ServiceMonitorSpec Spec { get; set; } = new();
}

/// <summary>ServiceMonitor spec: which Services, which ports.</summary>
public sealed class ServiceMonitorSpec
{
    public V1LabelSelector Selector { get; set; } = new();
    public List<ServiceMonitorEndpoint> Endpoints { get; set; } = [];
}

/// <summary>One scraped port of a ServiceMonitor.</summary>
public sealed class ServiceMonitorEndpoint
{
    public string Port { get; set; } = "";
    public string Path { get; set; } = "";
    public string Interval { get; set; } = "";
}

/// <summary>deploy/ loaded with KubernetesClient's own YAML loader into typed objects, and checked against what the code does.</summary>
public sealed class ManifestTests
{
    private static readonly Dictionary<string, Type> TypeMap = FlowWatch.Tests.Deploy.Kustomize.TypeMap;

    private const string Base = "base/flowwatch.yaml";
    private const string RemediationRbac = "components/remediation/rbac.yaml";

    private static string Deploy(string file) => Path.Combine(TestPaths.RepoRoot, "deploy", file);

    private static List<object> Load(string file) => KubernetesYaml.LoadAllFromString(File.ReadAllText(Deploy(file)), TypeMap, strict: true);

    private static HashSet<string> Grants(IEnumerable<V1PolicyRule> rules) =>
        rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{g}|{res}|{v}")))).ToHashSet();

    private static HashSet<string> Grants(IEnumerable<RbacRule> rules) =>
        rules.SelectMany(r => r.Verbs.Select(v => $"{r.ApiGroup}|{r.Resource}|{v}")).ToHashSet();

    [Fact]
    public void EveryManifest_LoadsStrictly_IntoTypedObjects()
    {
        // Every manifest under deploy/ but kustomize's own files (kustomization.yaml) is Kubernetes objects.
        var root = Path.Combine(TestPaths.RepoRoot, "deploy");
        var files = Directory.GetFiles(root, "*.yaml", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "kustomization.yaml").Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["base/dashboards.yaml", Base, "base/prometheusrule.yaml", "components/reader/reader.yaml", RemediationRbac], files);
        foreach (var file in files)
        {
            var objects = Load(file!);
            Assert.NotEmpty(objects);
            Assert.All(objects, o => Assert.IsAssignableFrom<IKubernetesObject<V1ObjectMeta>>(o));
        }
        // The loader is strict: a misspelt field fails, so the test above can fail.
        var misspelt = File.ReadAllText(Deploy(Base)).Replace("serviceAccountName:", "serviceAcountName:");
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(misspelt, TypeMap, strict: true));
    }

    [Fact]
    public void ClusterRoles_GrantExactlyWhatTheCodeCalls()
    {
        var role = Assert.Single(Load(Base).OfType<V1ClusterRole>());
        Assert.Equal(Grants(RbacRequirements.Base).Order(), Grants(role.Rules).Order());
        var remediation = Assert.Single(Load(RemediationRbac).OfType<V1ClusterRole>());
        Assert.Equal(Grants(RbacRequirements.Remediation).Order(), Grants(remediation.Rules).Order());

        var account = Assert.Single(Load(Base).OfType<V1ServiceAccount>());
        foreach (var (file, roleName) in new[] { (Base, role.Metadata.Name), (RemediationRbac, remediation.Metadata.Name) })
        {
            var binding = Assert.Single(Load(file).OfType<V1ClusterRoleBinding>());
            Assert.Equal(roleName, binding.RoleRef.Name);
            var subject = Assert.Single(binding.Subjects);
            Assert.Equal((account.Metadata.Name, account.Metadata.NamespaceProperty), (subject.Name, subject.NamespaceProperty));
        }
    }

    [Fact]
    public void Deployment_IsLockedDown_ProbedAndScraped()
    {
        var objects = Load(Base);
        var deployment = Assert.Single(objects.OfType<V1Deployment>());
        var pod = deployment.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        Assert.Equal(Assert.Single(objects.OfType<V1ServiceAccount>()).Metadata.Name, pod.ServiceAccountName);
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile.Type);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.Equal("/healthz", container.LivenessProbe.HttpGet.Path);
        Assert.Equal("/readyz", container.ReadinessProbe.HttpGet.Path);
        Assert.NotNull(container.Resources.Requests["cpu"]);
        Assert.NotNull(container.Resources.Limits["memory"]);
        Assert.Contains("--remediate=off", container.Args);
        var port = Assert.Single(container.Ports);
        Assert.Equal(port.Name, container.ReadinessProbe.HttpGet.Port.Value);

        var service = Assert.Single(objects.OfType<V1Service>());
        Assert.All(service.Spec.Selector, kv => Assert.Equal(kv.Value, deployment.Spec.Template.Metadata.Labels[kv.Key]));
        var monitor = Assert.Single(objects.OfType<ServiceMonitor>());
        Assert.All(monitor.Spec.Selector.MatchLabels, kv => Assert.Equal(kv.Value, service.Metadata.Labels[kv.Key]));
        var scraped = Assert.Single(monitor.Spec.Endpoints);
        Assert.Equal("/metrics", scraped.Path);
        Assert.Contains(service.Spec.Ports, p => p.Name == scraped.Port);
    }
}
