using System.Buffers.Binary;
using FlowWatch.Hubble.Proto.Flow;
using FlowWatch.Hubble.Proto.Observer;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace FlowWatch.Tests.Hubble;

/// <summary>Writes gRPC responses by hand (length-prefixed frames, grpc-status trailers), so a test can send anything, garbage included.</summary>
public static class RawGrpc
{
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static void Begin(HttpContext ctx)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/grpc";
    }

    public static async Task SendAsync(HttpContext ctx, byte[] payload)
    {
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        await ctx.Response.Body.WriteAsync(frame, ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    public static Task SendAsync(HttpContext ctx, GetFlowsResponse message) => SendAsync(ctx, message.ToByteArray());

    public static void End(HttpContext ctx, StatusCode code, string message = "")
    {
        ctx.Response.AppendTrailer("grpc-status", ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (message.Length > 0) ctx.Response.AppendTrailer("grpc-message", message);
    }

    /// <summary>Keeps the stream open and silent until the client gives up on it.</summary>
    public static async Task HoldAsync(HttpContext ctx)
    {
        try { await new TaskCompletionSource().Task.WaitAsync(ctx.RequestAborted); }
        catch (OperationCanceledException) { }
    }

    /// <summary>Flow number <paramref name="i"/>: uuid "flow-i", one millisecond after the previous one.</summary>
    public static GetFlowsResponse Flow(int i) => new()
    {
        Flow = new Flow
        {
            Time = Timestamp.FromDateTimeOffset(Epoch.AddMilliseconds(i)),
            Uuid = $"flow-{i}",
            Verdict = Verdict.Forwarded,
            NodeName = "node-a",
        },
        NodeName = "node-a",
        Time = Timestamp.FromDateTimeOffset(Epoch.AddMilliseconds(i)),
    };

    public static GetFlowsResponse Lost(LostEventSource source, ulong count) => new()
    {
        LostEvents = new LostEvent { Source = source, NumEventsLost = count },
        NodeName = "node-a",
        Time = Timestamp.FromDateTimeOffset(Epoch),
    };
}
