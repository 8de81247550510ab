using FlowWatch.Hubble.Filtering;
using FlowWatch.Hubble.Proto.Observer;
using Grpc.Core;

namespace FlowWatch.Simulation;

/// <summary>
/// The whitelist/blacklist of a <see cref="GetFlowsRequest"/> as Hubble applies them (<see cref="HubbleFilter"/>): every
/// FlowFilter field of Cilium v1.14 with Hubble's meaning. A malformed value, or a field number this build does not
/// know, is refused with INVALID_ARGUMENT naming the field, so a client never mistakes unfiltered output for filtered.
/// </summary>
/// <remarks>As in Hubble: filters in a list are OR-ed, the fields of one filter AND-ed, the values of one field OR-ed;
/// responses that are not flows (lost events) bypass the filters.</remarks>
public sealed class FlowRequestFilter
{
    private readonly HubbleFilter[] _allow;
    private readonly HubbleFilter[] _deny;

    private FlowRequestFilter(HubbleFilter[] allow, HubbleFilter[] deny) => (_allow, _deny) = (allow, deny);

    public bool IsEmpty => _allow.Length == 0 && _deny.Length == 0;

    /// <exception cref="RpcException">INVALID_ARGUMENT for a malformed value or an unknown filter field.</exception>
    public static FlowRequestFilter From(GetFlowsRequest request)
    {
        try
        {
            return new FlowRequestFilter(
                request.Whitelist.Select(HubbleFilter.Compile).ToArray(),
                request.Blacklist.Select(HubbleFilter.Compile).ToArray());
        }
        catch (FlowFilterException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
    }

    public bool Matches(GetFlowsResponse response) =>
        response.Flow is not { } flow || HubbleFilter.Apply(_allow, _deny, flow);
}
