using System.Diagnostics;
using FlowWatch.Tests.Kube;
using FlowWatch.Tests.Support;
using k8s;
using k8s.Models;

namespace FlowWatch.Tests.Deploy;

/// <summary>The Prometheus Operator's PrometheusRule, typed just enough for strict loading (unknown fields fail).</summary>
public sealed class PrometheusRule : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = "";
    public string Kind { get; set; } = "";
    public V1ObjectMeta Metadata { get; set; } = new();
    public PrometheusRuleSpec Spec { get; set; } = new();
}

/// <summary>PrometheusRule spec: Prometheus rule groups, as in a rule file.</summary>
public sealed class PrometheusRuleSpec
{
    public List<PrometheusRuleGroup> Groups { get; set; } = [];
}

/// <summary>One rule group.</summary>
public sealed class PrometheusRuleGroup
{
    public string Name { get; set; } = "";
    public string? Interval { get; set; }
    public List<PrometheusRuleEntry> Rules { get; set; } = [];
}

/// <summary>One alerting or recording rule.</summary>
public sealed class PrometheusRuleEntry
{
    public string? Alert { get; set; }
    public string? Record { get; set; }
    public string Expr { get; set; } = "";
    public string? For { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
    public Dictionary<string, string>? Annotations { get; set; }
}

/// <summary>Renders deploy/ with `kubectl kustomize` (as a platform team would) and loads the result strictly.</summary>
internal static class Kustomize
{
    public static readonly Dictionary<string, Type> TypeMap = new()
    {
        ["monitoring.coreos.com/v1/ServiceMonitor"] = typeof(ServiceMonitor),
        ["monitoring.coreos.com/v1/PrometheusRule"] = typeof(PrometheusRule),
    };

    public static string DeployDir => Path.Combine(TestPaths.RepoRoot, "deploy");

    public static IReadOnlyList<string> Overlays =>
        Directory.GetDirectories(Path.Combine(DeployDir, "overlays")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList()!;

    /// <summary>`kubectl kustomize deploy/<paramref name="relative"/>`; fails the test with kubectl's own words when it fails.</summary>
    public static string Render(string relative)
    {
        var start = new ProcessStartInfo("kubectl", ["kustomize", Path.Combine(DeployDir, relative)])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("kubectl is not installed; ./test.sh installs it (apt-get install kubectl): " + e.Message);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(60_000)) { process.Kill(); throw new TimeoutException($"kubectl kustomize {relative} did not finish in 60 s"); }
            Assert.True(process.ExitCode == 0, $"kubectl kustomize deploy/{relative} exited {process.ExitCode}: {stderr.Result}");
            return output;
        }
    }

    public static List<object> Load(string relative) => KubernetesYaml.LoadAllFromString(Render(relative), TypeMap, strict: true);
}
