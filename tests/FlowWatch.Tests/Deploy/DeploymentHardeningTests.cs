using FlowWatch.Tests.Support;
using k8s;
using k8s.Models;

namespace FlowWatch.Tests.Deploy;

/// <summary>The shipped Deployment runs locked down, and only Prometheus and named clients reach its API port.</summary>
public sealed class DeploymentHardeningTests
{
    private static readonly List<object> Objects = KubernetesYaml.LoadAllFromString(
        File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "deploy", "base", "flowwatch.yaml")),
        new Dictionary<string, Type> { ["monitoring.coreos.com/v1/ServiceMonitor"] = typeof(object) });

    private static V1Deployment Deployment => Assert.Single(Objects.OfType<V1Deployment>());

    [Fact]
    public void Pod_IsNonRoot_WithRuntimeDefaultSeccomp()
    {
        var pod = Deployment.Spec.Template.Spec.SecurityContext;
        Assert.True(pod.RunAsNonRoot);
        Assert.NotEqual(0, pod.RunAsUser);
        Assert.Equal("RuntimeDefault", pod.SeccompProfile.Type);
    }

    [Fact]
    public void EveryContainer_HasReadOnlyRoot_NoCapabilities_NoEscalation_AndResources()
    {
        foreach (var c in Deployment.Spec.Template.Spec.Containers)
        {
            Assert.True(c.SecurityContext.ReadOnlyRootFilesystem, c.Name);
            Assert.False(c.SecurityContext.AllowPrivilegeEscalation, c.Name);
            Assert.Equal(["ALL"], c.SecurityContext.Capabilities.Drop);
            Assert.True(c.Resources.Requests.ContainsKey("cpu") && c.Resources.Requests.ContainsKey("memory"), c.Name);
            Assert.True(c.Resources.Limits.ContainsKey("memory"), c.Name);
            Assert.NotNull(c.ReadinessProbe?.HttpGet);
            Assert.Equal("/readyz", c.ReadinessProbe.HttpGet.Path);
            Assert.Equal("/healthz", c.LivenessProbe.HttpGet.Path);
        }
    }

    [Fact]
    public void NetworkPolicy_SelectsFlowWatch_AndAdmitsOnlyPrometheusAndLabelledClients_OnTheApiPort()
    {
        var policy = Assert.Single(Objects.OfType<V1NetworkPolicy>());
        Assert.Equal(Deployment.Spec.Selector.MatchLabels, policy.Spec.PodSelector.MatchLabels);
        Assert.Equal(["Ingress"], policy.Spec.PolicyTypes);
        var rule = Assert.Single(policy.Spec.Ingress);
        Assert.Equal("9090", Assert.Single(rule.Ports).Port.Value);
        // Every peer names pods by label: none admits a whole namespace or the world.
        Assert.All(rule.FromProperty, peer =>
        {
            Assert.Null(peer.IpBlock);
            Assert.NotNull(peer.PodSelector?.MatchLabels);
            Assert.NotEmpty(peer.PodSelector.MatchLabels);
        });
        Assert.Contains(rule.FromProperty, peer => peer.PodSelector.MatchLabels.TryGetValue("app.kubernetes.io/name", out var app) && app == "prometheus");
    }
}
