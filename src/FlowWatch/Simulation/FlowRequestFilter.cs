using System.Text.RegularExpressions;
using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using Verdict = FlowWatch.Hubble.Proto.Flow.Verdict;
using Grpc.Core;

namespace FlowWatch.Simulation;

/// <summary>
/// The whitelist/blacklist of a <see cref="GetFlowsRequest"/> as the simulator applies them: node_name (Hubble's glob
/// and "cluster/node" forms), source_ip/destination_ip (address or CIDR), source_pod/destination_pod
/// ("namespace/pod-prefix"), verdict. Any other filter field is refused (UNIMPLEMENTED) rather than ignored, so a
/// client never mistakes unfiltered output for filtered.
/// </summary>
/// <remarks>As in Hubble: filters in a list are OR-ed, the fields of one filter AND-ed, the values of one field OR-ed.
/// Responses that are not flows (lost events) are matched on node_name only.</remarks>
public sealed class FlowRequestFilter
{
    public static readonly IReadOnlyList<string> SupportedFields =
        ["node_name", "source_ip", "destination_ip", "source_pod", "destination_pod", "verdict"];

    private readonly Criteria[] _allow;
    private readonly Criteria[] _deny;

    private FlowRequestFilter(Criteria[] allow, Criteria[] deny) => (_allow, _deny) = (allow, deny);

    public bool IsEmpty => _allow.Length == 0 && _deny.Length == 0;

    /// <exception cref="RpcException">UNIMPLEMENTED for unsupported fields, INVALID_ARGUMENT for malformed values.</exception>
    public static FlowRequestFilter From(GetFlowsRequest request, string clusterName) => new(
        request.Whitelist.Select(f => Criteria.From(f, clusterName)).ToArray(),
        request.Blacklist.Select(f => Criteria.From(f, clusterName)).ToArray());

    public bool Matches(GetFlowsResponse response)
    {
        if (_allow.Length > 0)
        {
            var any = false;
            foreach (var c in _allow) if (c.Matches(response)) { any = true; break; }
            if (!any) return false;
        }
        foreach (var c in _deny) if (c.Matches(response)) return false;
        return true;
    }

    private sealed class Criteria
    {
        private Regex[] _nodes = [];
        private IpPrefix[] _sourceIps = [];
        private IpPrefix[] _destinationIps = [];
        private (string Ns, string Prefix)[] _sourcePods = [];
        private (string Ns, string Prefix)[] _destinationPods = [];
        private Verdict[] _verdicts = [];

        public static Criteria From(FlowFilter filter, string clusterName)
        {
            var unsupported = FlowFilter.Descriptor.Fields.InFieldNumberOrder()
                .Where(f => !SupportedFields.Contains(f.Name) && f.Accessor.GetValue(filter) is System.Collections.IList { Count: > 0 })
                .Select(f => f.Name)
                .ToList();
            if (unsupported.Count > 0)
                throw new RpcException(new Status(StatusCode.Unimplemented,
                    $"the FlowWatch simulator does not filter on {string.Join(", ", unsupported)}; it supports {string.Join(", ", SupportedFields)}"));
            return new Criteria
            {
                _nodes = filter.NodeName.Select(p => NodePattern(p, clusterName)).ToArray(),
                _sourceIps = filter.SourceIp.Select(Prefix).ToArray(),
                _destinationIps = filter.DestinationIp.Select(Prefix).ToArray(),
                _sourcePods = filter.SourcePod.Select(Pod).ToArray(),
                _destinationPods = filter.DestinationPod.Select(Pod).ToArray(),
                _verdicts = filter.Verdict.ToArray(),
            };
        }

        public bool Matches(GetFlowsResponse response)
        {
            if (_nodes.Length > 0 && !AnyNode(response.NodeName)) return false;
            if (response.Flow is not { } flow) return true;
            if (_verdicts.Length > 0 && Array.IndexOf(_verdicts, flow.Verdict) < 0) return false;
            if (_sourceIps.Length > 0 && !AnyIp(_sourceIps, flow.IP?.Source)) return false;
            if (_destinationIps.Length > 0 && !AnyIp(_destinationIps, flow.IP?.Destination)) return false;
            if (_sourcePods.Length > 0 && !AnyPod(_sourcePods, flow.Source)) return false;
            if (_destinationPods.Length > 0 && !AnyPod(_destinationPods, flow.Destination)) return false;
            return true;
        }

        private bool AnyNode(string node)
        {
            foreach (var r in _nodes) if (r.IsMatch(node)) return true;
            return false;
        }

        private static bool AnyIp(IpPrefix[] prefixes, string? text)
        {
            if (text is null || !IpAddr.TryParse(text, out var ip)) return false;
            foreach (var p in prefixes) if (p.Contains(ip)) return true;
            return false;
        }

        private static bool AnyPod((string Ns, string Prefix)[] pods, Endpoint? endpoint)
        {
            if (endpoint is null || endpoint.PodName.Length == 0) return false;
            foreach (var (ns, prefix) in pods)
                if (endpoint.Namespace == ns && endpoint.PodName.StartsWith(prefix, StringComparison.Ordinal)) return true;
            return false;
        }

        private static IpPrefix Prefix(string text) => IpPrefix.TryParse(text, out var p) ? p
            : throw new RpcException(new Status(StatusCode.InvalidArgument, $"'{text}' is not an IP address or CIDR block"));

        // Hubble: "pod" means the default namespace, "ns/" every pod of ns, "ns/prefix" pods whose name starts with prefix.
        private static (string, string) Pod(string text)
        {
            var slash = text.IndexOf('/');
            return slash < 0 ? ("default", text) : (text[..slash], text[(slash + 1)..]);
        }

        // Hubble: "node", "cluster/node", with '*' matching within a name; a bare name matches in any cluster.
        private static Regex NodePattern(string pattern, string clusterName)
        {
            if (pattern.Length == 0) throw new RpcException(new Status(StatusCode.InvalidArgument, "empty node_name filter"));
            var slash = pattern.IndexOf('/');
            if (slash >= 0)
            {
                var cluster = Glob(pattern[..slash]);
                if (!Regex.IsMatch(clusterName, cluster)) return new Regex("(?!)");
                pattern = pattern[(slash + 1)..];
            }
            return new Regex(Glob(pattern), RegexOptions.CultureInvariant);
        }

        private static string Glob(string pattern) => "^" + Regex.Escape(pattern).Replace("\\*", "[^/]*") + "$";
    }
}
