using System.Collections.Concurrent;

namespace FlowWatch.Tests.Hubble.Conformance;

/// <summary>One filter written twice: as FlowWatch's query parameters and as the hubble observe flags that mean the same.</summary>
/// <remarks>'~' stands for a space inside one value (a label selector such as "app in (a,b)").</remarks>
public sealed record EquivalenceFilter(string Query, string HubbleFlags)
{
    public IReadOnlyDictionary<string, string> Parameters =>
        Query.Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1].Replace('~', ' '));

    /// <summary>The query string for a URL, each value escaped.</summary>
    public string UrlQuery => string.Join("&", Parameters.Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value)}"));

    public string[] HubbleArgs => HubbleFlags.Split(' ').Select(w => w.Replace('~', ' ')).ToArray();

    public override string ToString() => Query.Replace('~', ' ');
}

/// <summary>The filters both equivalence tests compare, and hubble's counts for them (each asked of hubble once per run).</summary>
public static class EquivalenceFilters
{
    public static readonly IReadOnlyList<EquivalenceFilter> All =
    [
        new("namespace=bookinfo", "--namespace bookinfo"),
        new("namespace=kube-system", "--namespace kube-system"),
        new("pod=bookinfo/productpage", "--pod bookinfo/productpage"),
        new("pod=bookinfo/reviews-v", "--pod bookinfo/reviews-v"),
        new("pod=kube-system/coredns", "--pod kube-system/coredns"),
        new("from_pod=bookinfo/productpage", "--from-pod bookinfo/productpage"),
        new("to_pod=bookinfo/details", "--to-pod bookinfo/details"),
        new("from_namespace=bookinfo", "--from-namespace bookinfo"),
        new("to_namespace=kube-system", "--to-namespace kube-system"),
        new("ip=10.244.0.0/16", "--ip 10.244.0.0/16"),
        new("from_ip=10.244.0.0/24", "--from-ip 10.244.0.0/24"),
        new("to_ip=10.0.0.0/8", "--to-ip 10.0.0.0/8"),
        new("port=53", "--port 53"),
        new("port=9080", "--port 9080"),
        new("from_port=53", "--from-port 53"),
        new("to_port=9080", "--to-port 9080"),
        new("protocol=tcp", "--protocol tcp"),
        new("protocol=udp", "--protocol udp"),
        new("protocol=icmp", "--protocol icmp"),
        new("protocol=dns", "--protocol dns"),
        new("protocol=http", "--protocol http"),
        new("verdict=dropped", "--verdict DROPPED"),
        new("verdict=forwarded", "--verdict FORWARDED"),
        new("node=kind-control-plane", "--node-name kind-control-plane"),
        new("namespace=bookinfo&protocol=http&to_port=9080", "--namespace bookinfo --protocol http --to-port 9080"),
        new("identity=2", "--identity 2"),
        new("from_identity=1", "--from-identity 1"),
        new("to_identity=796", "--to-identity 796"),
        new("type=trace", "--type trace"),
        new("type=trace:to-stack", "--type trace:to-stack"),
        new("type=l7", "--type l7"),
        new("type=policy-verdict", "--type policy-verdict"),
        new("label=k8s:app=productpage", "--label k8s:app=productpage"),
        new("label=app=ratings", "--label app=ratings"),
        new("label=k8s.app=productpage", "--label k8s.app=productpage"),
        new("label=any:app", "--label any:app"),
        new("from_label=k8s:k8s-app=kube-dns", "--from-label k8s:k8s-app=kube-dns"),
        new("to_label=reserved:world", "--to-label reserved:world"),
        new("label=reserved:host", "--label reserved:host"),
        new("to_label=!k8s:app", "--to-label !k8s:app"),
        new("label=version!=v1", "--label version!=v1"),
        new("label=k8s:app~in~(ratings,details)", "--label k8s:app~in~(ratings,details)"),
        new("label=app~notin~(ratings,productpage)", "--label app~notin~(ratings,productpage)"),
        new("label=version=v1,k8s:io.kubernetes.pod.namespace=bookinfo", "--label version=v1,k8s:io.kubernetes.pod.namespace=bookinfo"),
        new("namespace=bookinfo&label=app=reviews", "--namespace bookinfo --label app=reviews"),
        new("from_label=app=productpage&to_label=app=details", "--from-label app=productpage --to-label app=details"),
        new("to_label=k8s:app=productpage&verdict=forwarded&protocol=tcp", "--to-label k8s:app=productpage --verdict FORWARDED --protocol tcp"),
    ];

    private static readonly ConcurrentDictionary<(string File, string Flags), Lazy<Task<int>>> Counts = new();

    /// <summary>How many flows <c>hubble observe --input-file <paramref name="file"/> --all</c> prints with the filter.</summary>
    public static Task<int> HubbleCountAsync(string file, EquivalenceFilter filter) =>
        Counts.GetOrAdd((file, filter.HubbleFlags), key => new Lazy<Task<int>>(async () =>
            (await HubbleCli.RunAsync(["observe", "--input-file", key.File, "--all", "-o", "jsonpb", .. filter.HubbleArgs], TimeSpan.FromSeconds(120)))
                .Ok().Flows.Count)).Value;

    /// <summary>A plain text table: a header row, then rows, columns padded to their widest cell.</summary>
    public static string Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { header };
        all.AddRange(rows);
        var widths = header.Select((_, i) => all.Max(r => i < r.Count ? r[i].Length : 0)).ToArray();
        var sb = new System.Text.StringBuilder();
        foreach (var r in all)
            sb.AppendLine(string.Join("  ", r.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd());
        return sb.ToString();
    }
}
