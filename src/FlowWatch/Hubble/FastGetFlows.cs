using System.Buffers;
using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Observer;
using Google.Protobuf;
using Grpc.Core;

namespace FlowWatch.Hubble;

/// <summary>
/// <c>observer.Observer/GetFlows</c> with a response marshaller that decodes the wire bytes straight into
/// <see cref="FlowRecord"/>s (<see cref="FlowWireDecoder"/>), skipping the generated message objects.
/// </summary>
/// <remarks>
/// Same method path and request bytes as the generated client, so it talks to any Relay. Each call gets
/// its own decoder: gRPC deserialises one call's messages one after another, never at once.
/// </remarks>
public static class FastGetFlows
{
    private static readonly Marshaller<GetFlowsRequest> RequestMarshaller =
        Marshallers.Create(r => r.ToByteArray(), GetFlowsRequest.Parser.ParseFrom);

    /// <summary>The singleton answer for responses FlowWatch does not use (node status).</summary>
    public static readonly object Other = new();

    /// <summary>Responses are a <see cref="FlowRecord"/>, a <see cref="LostEventsNotice"/>, an <see cref="UndecodableMessage"/>, or <see cref="Other"/>.</summary>
    public static Method<GetFlowsRequest, object> Method(FlowWireDecoder decoder, string? fallbackNode = null) => new(
        MethodType.ServerStreaming, "observer.Observer", "GetFlows", RequestMarshaller,
        new Marshaller<object>(
            (_, _) => throw new NotSupportedException("FlowWatch only reads GetFlows responses"),
            context => Decode(decoder, context, fallbackNode)));

    public static AsyncServerStreamingCall<object> Call(
        CallInvoker invoker, GetFlowsRequest request, CallOptions options, FlowWireDecoder decoder, string? fallbackNode = null) =>
        invoker.AsyncServerStreamingCall(Method(decoder, fallbackNode), null, options, request);

    // A marshaller that throws makes grpc-dotnet abort the whole call; a resumed call would then meet the same bad
    // message in Hubble's buffer again and again. So a message that does not decode is handed on as a value and the
    // stream goes on past it.
    private static object Decode(FlowWireDecoder decoder, DeserializationContext context, string? fallbackNode)
    {
        try { return DecodeOrThrow(decoder, context, fallbackNode); }
        catch (Exception e) when (e is FormatException or OverflowException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return new UndecodableMessage(e.Message, context.PayloadLength);
        }
    }

    private static object DecodeOrThrow(FlowWireDecoder decoder, DeserializationContext context, string? fallbackNode)
    {
        var payload = context.PayloadAsReadOnlySequence();
        if (payload.IsSingleSegment) return Wrap(decoder.Decode(payload.FirstSpan, fallbackNode));
        var length = checked((int)payload.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            payload.CopyTo(buffer);
            return Wrap(decoder.Decode(buffer.AsSpan(0, length), fallbackNode));
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    private static object Wrap(DecodedResponse r) => r.Kind switch
    {
        ResponseKind.Flow => r.Flow!,
        ResponseKind.LostEvents => new LostEventsNotice(
            LostEventSourceNames.Of(r.LostSource),
            r.LostCount, r.NodeName),
        _ => Other,
    };
}

/// <summary>A GetFlows response whose bytes did not decode: why, and how long it was.</summary>
public sealed record UndecodableMessage(string Reason, int Length);

/// <summary>Hubble's notice that events were lost before it could send them, and where.</summary>
public sealed record LostEventsNotice(string Source, ulong Count, string NodeName);
