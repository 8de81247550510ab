using System.Text;
using System.Text.RegularExpressions;

namespace FlowWatch.Hubble.Filtering;

/// <summary>Hubble's FQDN and node-name patterns ("*.cilium.io", "cluster/k8s*") as anchored regular expressions.</summary>
/// <remarks>Follows Cilium's pkg/hubble/filters/patterns.go: a pattern is trimmed, loses one trailing dot and is
/// lower-cased; '*' matches any run of name characters including dots; any other character than [-0-9_a-z.] is refused.
/// A node-name pattern is "cluster/node" (either side empty = any) or "node" (any cluster).</remarks>
internal static class NamePatterns
{
    // Cilium's fqdnRegexpStr: a dotted name including underscores.
    private const string AnyName = @"(?:[-0-9_a-z]+(?:\.[-0-9_a-z]+)*)";

    public static Regex Fqdn(IEnumerable<string> patterns, string field)
    {
        var sb = new StringBuilder(@"\A(?:");
        var first = true;
        foreach (var p in patterns)
        {
            if (!first) sb.Append('|');
            first = false;
            AppendFqdn(sb, p, field);
        }
        return Compile(sb.Append(@")\z"));
    }

    public static Regex NodeName(IEnumerable<string> patterns, string field)
    {
        var sb = new StringBuilder(@"\A(?:");
        var first = true;
        foreach (var p in patterns)
        {
            if (!first) sb.Append('|');
            first = false;
            if (p.Length == 0) throw new FlowFilterException(field, $"{field}: empty pattern");
            var parts = p.Split('/');
            if (parts.Length > 2) throw new FlowFilterException(field, $"{field}: too many slashes in pattern '{p}'");
            var (cluster, node) = parts.Length == 2 ? (parts[0], parts[1]) : ("", parts[0]);
            if (cluster.Length == 0) sb.Append(AnyName); else AppendFqdn(sb, cluster, field);
            sb.Append('/');
            if (node.Length == 0) sb.Append(AnyName); else AppendFqdn(sb, node, field);
        }
        return Compile(sb.Append(@")\z"));
    }

    private static void AppendFqdn(StringBuilder sb, string pattern, string field)
    {
        var p = pattern.Trim();
        if (p.EndsWith('.')) p = p[..^1];
        p = p.ToLowerInvariant();
        if (p.Length == 0) throw new FlowFilterException(field, $"{field}: empty pattern");
        if (p.EndsWith('.')) throw new FlowFilterException(field, $"{field}: multiple trailing dots in pattern '{pattern}'");
        foreach (var c in p)
        {
            switch (c)
            {
                case '.': sb.Append(@"\."); break;
                case '*': sb.Append("[-.0-9a-z]*"); break;
                case '-' or '_' or (>= '0' and <= '9') or (>= 'a' and <= 'z'): sb.Append(c); break;
                default: throw new FlowFilterException(field, $"{field}: '{c}' is not allowed in pattern '{pattern}'");
            }
        }
    }

    private static Regex Compile(StringBuilder sb) =>
        new(sb.ToString(), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
}
