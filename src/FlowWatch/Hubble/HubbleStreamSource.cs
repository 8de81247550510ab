using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Metrics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace FlowWatch.Hubble;

/// <summary>Follows GetFlows on a Relay or agent, reconnecting forever with capped, jittered backoff.</summary>
/// <remarks>
/// On reconnect it asks for flows <c>since</c> the last one handed on and drops the overlap (flows at
/// that instant whose uuid it already passed), so a Relay restart loses nothing Hubble still buffers
/// and counts nothing twice. Plaintext h2c for <c>host:port</c>, TLS for <c>https://</c>.
/// </remarks>
public sealed class HubbleStreamSource(string target, Action<FlowRecord> sink, PipelineMetrics metrics)
{
    private readonly HashSet<string> _atLastInstant = [];
    private long _lastNanos;

    public string Target { get; } = target;
    public string State { get; private set; } = "connecting";
    public ulong LostEvents { get; private set; }
    public long Received { get; private set; }
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    public static Uri ToUri(string target)
    {
        if (target.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || target.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            return new Uri(target);
        if (target.Contains("://")) throw new FormatException($"'{target}' is not host:port, http://host:port or https://host:port");
        return new Uri("http://" + target);
    }

    public async Task RunAsync(CancellationToken ct)
    {
        var uri = ToUri(Target);
        using var channel = GrpcChannel.ForAddress(uri, new GrpcChannelOptions { MaxReceiveMessageSize = 4 << 20 });
        var backoff = TimeSpan.FromMilliseconds(200);
        var connected = metrics.Connected.WithLabels(Target);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var request = new GetFlowsRequest { Follow = true };
                if (_lastNanos != 0) request.Since = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddTicks(_lastNanos / 100));
                using var call = FastGetFlows.Call(channel.CreateCallInvoker(), request, new CallOptions(cancellationToken: ct), new FlowWireDecoder());
                State = "connected";
                connected.Set(1);
                await foreach (var item in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
                {
                    backoff = TimeSpan.FromMilliseconds(200);
                    if (item is FlowRecord flow) Accept(flow);
                    else if (item is LostEventsNotice lost)
                    {
                        LostEvents += lost.Count;
                        metrics.LostEvents.WithLabels(lost.Source).Inc(lost.Count);
                    }
                }
                State = "stream ended; reconnecting";
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested) { break; }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException)
            {
                State = $"backoff ({Short(e)})";
                if (e is RpcException { StatusCode: StatusCode.Internal }) metrics.BadInput.WithLabels("grpc").Inc();
            }
            connected.Set(0);
            metrics.Reconnects.WithLabels(Target).Inc();
            var jitter = Random.Shared.NextDouble() * backoff.TotalMilliseconds / 2;
            try { await Task.Delay(backoff + TimeSpan.FromMilliseconds(jitter), ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
        }
        connected.Set(0);
    }

    private void Accept(FlowRecord flow)
    {
        if (flow.TimeNanos < _lastNanos) { metrics.Duplicates.Inc(); return; }
        if (flow.TimeNanos == _lastNanos)
        {
            if (flow.Uuid.Length != 0 && !_atLastInstant.Add(flow.Uuid)) { metrics.Duplicates.Inc(); return; }
        }
        else
        {
            _lastNanos = flow.TimeNanos;
            _atLastInstant.Clear();
            if (flow.Uuid.Length != 0) _atLastInstant.Add(flow.Uuid);
        }
        Received++;
        sink(flow);
    }

    private static string Short(Exception e) => e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : e.Message;
}
