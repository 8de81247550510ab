using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace FlowWatch.Simulation;

/// <summary>GetFlowsRequest.experimental.field_mask: each flow is sent with only the named fields (paths of Flow), as Hubble does.</summary>
/// <remarks>A path that is not a field of this build's Flow is refused with INVALID_ARGUMENT naming it (Hubble answers
/// "invalid fieldmask"); fields Cilium has and this Flow does not declare cannot be asked for.</remarks>
public sealed class FlowFieldMask
{
    private readonly FieldMask _mask;

    private FlowFieldMask(FieldMask mask) => _mask = mask;

    /// <returns>Null when the request has no mask or an empty one (every field is sent).</returns>
    public static FlowFieldMask? From(FieldMask? mask)
    {
        if (mask is null || mask.Paths.Count == 0) return null;
        foreach (var path in mask.Paths)
            if (!FieldMask.IsValid(Flow.Descriptor, new FieldMask { Paths = { path } }))
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"invalid fieldmask: '{path}' is not a field path of flow.Flow this server knows"));
        return new FlowFieldMask(mask.Normalize());
    }

    /// <summary>A new response with a copy of the masked fields; time and node_name come from the masked flow, as in Hubble.</summary>
    public GetFlowsResponse Apply(GetFlowsResponse response)
    {
        var masked = new Flow();
        _mask.Merge(response.Flow, masked);
        return new GetFlowsResponse { Flow = masked, Time = masked.Time, NodeName = masked.NodeName };
    }
}
