using FlowWatch.Hubble.Proto.Flow;

namespace FlowWatch.Hubble;

/// <summary>The GetFlows allow list for <see cref="HubbleClientOptions.Namespaces"/> and <see cref="HubbleClientOptions.Nodes"/>.</summary>
/// <remarks>
/// Cilium's FlowFilter has no namespace field: <c>hubble observe --namespace ns</c> sends two filters, one with
/// source_pod "ns/" and one with destination_pod "ns/" (filters in a list are OR-ed), and so does this. Node
/// patterns go into each filter, since the fields of one filter are AND-ed.
/// </remarks>
public static class FlowFilters
{
    public static IReadOnlyList<FlowFilter> Allow(IReadOnlyList<string> namespaces, IReadOnlyList<string> nodes)
    {
        if (namespaces.Count == 0)
        {
            if (nodes.Count == 0) return [];
            var byNode = new FlowFilter();
            byNode.NodeName.AddRange(nodes);
            return [byNode];
        }
        var prefixes = namespaces.Select(ns => ns + "/").ToList();
        var from = new FlowFilter();
        from.SourcePod.AddRange(prefixes);
        from.NodeName.AddRange(nodes);
        var to = new FlowFilter();
        to.DestinationPod.AddRange(prefixes);
        to.NodeName.AddRange(nodes);
        return [from, to];
    }
}
