using System.Text.RegularExpressions;

namespace FlowWatch.Findings;

/// <summary>The name of the cluster FlowWatch reports on (<c>--cluster</c>): the <c>cluster</c> label of every metric and the <c>cluster</c> of every finding and answer.</summary>
public static partial class ClusterName
{
    /// <summary>The name when none is given.</summary>
    public const string Default = "default";

    /// <summary>Null when <paramref name="name"/> may be a cluster name, else why not.</summary>
    /// <remarks>A label value and a Kubernetes annotation value can hold anything; the rule is Cilium's for
    /// <c>cluster.name</c> (lowercase letters, digits, '-') widened by '.', '_' and capitals, so that a name from a
    /// cloud console fits, and nothing a shell or PromQL string would have to escape.</remarks>
    public static string? Problem(string name) =>
        name.Length == 0 ? "it is empty"
        : name.Length > 63 ? $"it is {name.Length} characters long; at most 63"
        : !Valid().IsMatch(name) ? $"'{name}' has characters other than letters, digits, '-', '_' and '.', or does not start with a letter or digit"
        : null;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex Valid();
}
