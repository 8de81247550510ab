using System.Text.Json.Nodes;
using System.Xml.Linq;
using FlowWatch.Kubernetes;
using FlowWatch.Tests.Alerting;
using FlowWatch.Tests.Kube;
using FlowWatch.Tests.Support;
using k8s;
using k8s.Models;

namespace FlowWatch.Tests.Deploy;

/// <summary>deploy/ as platform teams install it: the base and each cloud's overlay rendered by `kubectl kustomize`.</summary>
public sealed class KustomizeTests
{
    public static TheoryData<string> Targets()
    {
        var data = new TheoryData<string> { "base" };
        foreach (var overlay in Kustomize.Overlays) data.Add("overlays/" + overlay);
        return data;
    }

    private static string ProjectVersion =>
        XDocument.Load(Path.Combine(TestPaths.RepoRoot, "Directory.Build.props")).Descendants("Version").Single().Value;

    private static V1Container Container(List<object> objects) =>
        Assert.Single(Assert.Single(objects.OfType<V1Deployment>()).Spec.Template.Spec.Containers);

    private static HashSet<string> Grants(IEnumerable<V1PolicyRule> rules) =>
        rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{g}|{res}|{v}")))).ToHashSet();

    private static HashSet<string> Grants(IEnumerable<RbacRule> rules) =>
        rules.SelectMany(r => r.Verbs.Select(v => $"{r.ApiGroup}|{r.Resource}|{v}")).ToHashSet();

    [Fact]
    public void ThereIsAnOverlayPerCloud()
    {
        Assert.Equal(["aks", "eks", "gke"], Kustomize.Overlays);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Renders_AComplete_StrictlyTypedInstall(string target)
    {
        var objects = Kustomize.Load(target);
        Assert.All(objects, o => Assert.IsAssignableFrom<IKubernetesObject<V1ObjectMeta>>(o));
        Assert.Single(objects.OfType<V1Deployment>());
        Assert.Single(objects.OfType<V1ServiceAccount>());
        Assert.Single(objects.OfType<V1Service>());
        Assert.Single(objects.OfType<ServiceMonitor>());
        Assert.Single(objects.OfType<V1NetworkPolicy>());
        Assert.NotEmpty(objects.OfType<V1ClusterRole>());
        Assert.Equal(RuleFiles.RuleFilePaths.Count, objects.OfType<PrometheusRule>().Count());
        Assert.NotEmpty(objects.OfType<V1ConfigMap>().Where(m => IsDashboard(m)));
        // Namespaced objects all land in one namespace, the one the RBAC subjects name.
        var account = Assert.Single(objects.OfType<V1ServiceAccount>());
        Assert.All(objects.OfType<IKubernetesObject<V1ObjectMeta>>().Where(o => o is not V1ClusterRole and not V1ClusterRoleBinding),
            o => Assert.Equal(account.Metadata.NamespaceProperty, o.Metadata.NamespaceProperty));
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Image_IsPinnedToTheProjectVersion_NeverLatest(string target)
    {
        Assert.DoesNotContain(":latest", Kustomize.Render(target));
        Assert.Equal($"flowwatch:{ProjectVersion}", Container(Kustomize.Load(target)).Image);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void ClusterRoles_GrantExactlyWhatTheRenderedFlagsNeed(string target)
    {
        var objects = Kustomize.Load(target);
        var args = Container(objects).Args;
        var expected = Grants(RbacRequirements.Base);
        if (!args.Contains("--remediate=off")) expected.UnionWith(Grants(RbacRequirements.Remediation));
        Assert.Equal(expected.Order(), Grants(objects.OfType<V1ClusterRole>().SelectMany(r => r.Rules)).Order());

        var account = Assert.Single(objects.OfType<V1ServiceAccount>());
        var roles = objects.OfType<V1ClusterRole>().Select(r => r.Metadata.Name).ToHashSet();
        var bindings = objects.OfType<V1ClusterRoleBinding>().ToList();
        Assert.Equal(roles.Order(), bindings.Select(b => b.RoleRef.Name).Order());
        Assert.All(bindings, b =>
        {
            var subject = Assert.Single(b.Subjects);
            Assert.Equal((account.Metadata.Name, account.Metadata.NamespaceProperty), (subject.Name, subject.NamespaceProperty));
        });
    }

    [Fact]
    public void PrometheusRules_AreTheRuleFiles_RuleForRule()
    {
        var rendered = Kustomize.Load("base").OfType<PrometheusRule>().ToDictionary(r => r.Metadata.Name);
        foreach (var path in RuleFiles.RuleFilePaths)
        {
            var name = Path.GetFileNameWithoutExtension(path);
            Assert.True(rendered.TryGetValue(name, out var rule), $"no PrometheusRule {name}: run ./deploy/generate.sh");
            var fromCrd = rule.Spec.Groups.SelectMany(g => g.Rules.Select(r => Canonical(g.Name, r.Alert, r.Record, r.Expr, r.For, r.Labels, r.Annotations)));
            var fromFile = RuleFiles.Read(path).Select(r => Canonical(r.Group, r.Alert, r.Record, r.Expr, r.For, r.Labels, r.Annotations));
            Assert.True(fromFile.SequenceEqual(fromCrd), $"deploy/base/prometheusrule.yaml differs from rules/{name}.yaml: run ./deploy/generate.sh");
        }
    }

    [Fact]
    public void DashboardConfigMaps_AreTheDashboardFiles()
    {
        var maps = Kustomize.Load("base").OfType<V1ConfigMap>().Where(m => IsDashboard(m)).ToList();
        var files = Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "grafana"), "*.json").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(files.Count, maps.Count);
        foreach (var file in files)
        {
            var key = Path.GetFileName(file);
            var map = Assert.Single(maps, m => m.Data.ContainsKey(key));
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(file)), JsonNode.Parse(map.Data[key])),
                $"the ConfigMap for grafana/{key} differs from the file: run ./deploy/generate.sh");
        }
    }

    [Fact]
    public void EachCloud_GetsItsOwnSettings()
    {
        var eks = Container(Kustomize.Load("overlays/eks")).Args;
        Assert.Contains(eks, a => a.StartsWith("--peer-range=", StringComparison.Ordinal));

        var gke = Kustomize.Load("overlays/gke");
        Assert.Contains("--remediate=dry-run", Container(gke).Args);
        Assert.DoesNotContain("--remediate=off", Container(gke).Args);

        var aks = Assert.Single(Kustomize.Load("overlays/aks").OfType<V1Deployment>()).Spec.Template.Spec;
        Assert.Contains(aks.Tolerations, t => t.Key == "CriticalAddonsOnly" && t.OperatorProperty == "Exists");

        // Only the GKE overlay remediates; the others keep the base's --remediate=off.
        Assert.Contains("--remediate=off", eks);
        Assert.Contains("--remediate=off", Container(Kustomize.Load("overlays/aks")).Args);
    }

    [Fact]
    public void Image_RunsAnyCommand_AndTheDeploymentNamesItsOwn()
    {
        var dockerfile = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "Dockerfile"));
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"/app/FlowWatch.Cli.dll\"]", dockerfile);
        Assert.Equal("watch", Container(Kustomize.Load("base")).Args[0]);
        var ignored = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, ".dockerignore"));
        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
    }

    private static bool IsDashboard(V1ConfigMap map) =>
        map.Metadata.Labels is { } labels && labels.TryGetValue("grafana_dashboard", out var value) && value == "1";

    private static string Canonical(string group, string? alert, string? record, string expr, string? @for,
        IReadOnlyDictionary<string, string>? labels, IReadOnlyDictionary<string, string>? annotations) =>
        string.Join("\n", group, alert, record, expr.Trim(), @for,
            string.Join(",", (labels ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")),
            string.Join(",", (annotations ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value.Trim()}")));
}
