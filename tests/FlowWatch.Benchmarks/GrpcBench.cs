using System.Diagnostics;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Hubble;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Simulation;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace FlowWatch.Benchmarks;

/// <summary>
/// Over real gRPC on loopback: the simulator's server streams the same pre-built messages as fast as the reader takes
/// them, to (a) a client that only receives and decodes (<see cref="FastGetFlows"/>) and (b) FlowWatch whole
/// (<see cref="HubbleStreamSource"/> → <c>FlowIntake</c> → pipeline, detectors, metrics, store).
/// </summary>
/// <remarks>
/// The simulator's own live generator runs at a negligible rate; the benchmark appends to its ring in batches and
/// never gets more than half a ring ahead of the reader, so nothing is lost to the ring. Each pass over the messages
/// moves their times on and gives them fresh ids, so FlowWatch's resume de-duplication passes every one.
/// </remarks>
public static class GrpcBench
{
    private const int RingCapacity = 1 << 17;
    private const int Batch = 1024;

    public static void Run(Input input, long flows, int repeats)
    {
        var messages = input.Messages.Take(65_536).Select(b => GetFlowsResponse.Parser.ParseFrom(b)).ToList();
        var originals = messages.Select(m => (m.Flow.Time.Seconds * 1_000_000_000L + m.Flow.Time.Nanos, m.Flow.Uuid)).ToList();
        var span = Math.Max(input.SpanNanos * messages.Count / input.Messages.Count, 1_000_000);
        var decodeOnly = new List<double>();
        var full = new List<double>();
        long pass = 0;
        for (var i = 0; i < repeats; i++)
        {
            decodeOnly.Add(Once(false, messages, originals, span, flows, ref pass));
            full.Add(Once(true, messages, originals, span, flows, ref pass));
        }
        Console.WriteLine($"grpc.decode_only.flows_per_second: {decodeOnly.Max():F0}");
        Console.WriteLine($"grpc.decode_only.flows_per_second_min: {decodeOnly.Min():F0}");
        Console.WriteLine($"grpc.flowwatch_full.flows_per_second: {full.Max():F0}");
        Console.WriteLine($"grpc.flowwatch_full.flows_per_second_min: {full.Min():F0}");
        Console.WriteLine($"grpc.ratio_full_to_decode_only: {full.Max() / decodeOnly.Max():F2}");
        Console.WriteLine($"grpc.ratio_full_to_decode_only_range: {full.Min() / decodeOnly.Max():F2}..{full.Max() / decodeOnly.Min():F2}");
    }

    private static double Once(bool flowWatch, List<GetFlowsResponse> messages, List<(long Time, string Uuid)> originals,
        long span, long flows, ref long pass)
    {
        var sim = new SimulatorHost(new SimulatorOptions
        {
            Listen = "127.0.0.1:0", FlowsPerSecond = 0.001, BufferSize = RingCapacity, Scenarios = ScenarioSet.None,
        });
        using var cts = new CancellationTokenSource();
        FlowWatchRuntime? runtime = null;
        var tasks = new List<Task>();
        Func<long> received;
        try
        {
            sim.StartAsync().GetAwaiter().GetResult();
            var target = $"127.0.0.1:{sim.EndPoint!.Port}";
            if (flowWatch)
            {
                runtime = new FlowWatchRuntime(new RuntimeOptions(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
                var rt = runtime;
                var source = new HubbleStreamSource(target, f => rt.Intake.Write(f), rt.Pipeline.Metrics,
                    new HubbleClientOptions { StatusPollInterval = TimeSpan.Zero });
                tasks.Add(Task.Run(() => rt.RunAsync(live: true, cts.Token)));
                tasks.Add(Task.Run(() => source.RunAsync(cts.Token)));
                received = () => rt.Pipeline.Stats.Flows + rt.Intake.Shed;
            }
            else
            {
                var counter = new long[1];
                tasks.Add(Task.Run(() => DecodeOnly(target, counter, cts.Token)));
                received = () => Interlocked.Read(ref counter[0]);
            }
            // Until the stream is open (a follower starts at the ring's end), trickle; then let it drain.
            var trickle = new List<GetFlowsResponse>(1);
            var deadline = Stopwatch.StartNew();
            while (received() == 0)
            {
                if (deadline.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("the gRPC stream never delivered");
                trickle.Clear();
                trickle.Add(Stamp(messages, originals, 0, pass++, span).Clone());
                sim.Ring.Append(trickle);
                Thread.Sleep(20);
            }
            WaitQuiet(received);
            var start = received();
            var sent = 0L;
            var watch = Stopwatch.StartNew();
            var batch = new List<GetFlowsResponse>(Batch);
            while (sent < flows)
            {
                // Each pass changes the messages' times and ids; the reader must have taken the previous pass first.
                while (received() - start < sent) Thread.Sleep(1);
                pass++;
                for (var at = 0; at < messages.Count && sent < flows; at += Batch)
                {
                    batch.Clear();
                    for (var k = at; k < Math.Min(at + Batch, messages.Count) && sent < flows; k++, sent++)
                        batch.Add(Stamp(messages, originals, k, pass, span));
                    while (sent - (received() - start) > RingCapacity / 2) Thread.Sleep(1);
                    sim.Ring.Append(batch);
                }
            }
            while (received() - start < sent)
            {
                if (watch.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException($"only {received() - start} of {sent} flows arrived");
                Thread.Sleep(1);
            }
            watch.Stop();
            if (runtime is { Intake.Shed: > 0 } r) Console.WriteLine($"# grpc: FlowWatch's intake shed {r.Intake.Shed:N0} flows (counted as received)");
            return sent / watch.Elapsed.TotalSeconds;
        }
        finally
        {
            cts.Cancel();
            try { Task.WaitAll(tasks.ToArray(), TimeSpan.FromSeconds(10)); } catch (AggregateException) { }
            runtime?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            sim.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static GetFlowsResponse Stamp(List<GetFlowsResponse> messages, List<(long Time, string Uuid)> originals, int k, long pass, long span)
    {
        var m = messages[k];
        var t = originals[k].Time + pass * span;
        m.Flow.Time = new Timestamp { Seconds = t / 1_000_000_000, Nanos = (int)(t % 1_000_000_000) };
        m.Time = m.Flow.Time;
        var uuid = originals[k].Uuid;
        m.Flow.Uuid = uuid.Length >= 8 ? pass.ToString("x8") + uuid[8..] : uuid;
        return m;
    }

    private static void WaitQuiet(Func<long> received)
    {
        var last = -1L;
        while (received() != last) { last = received(); Thread.Sleep(200); }
    }

    private static async Task DecodeOnly(string target, long[] counter, CancellationToken ct)
    {
        var options = new HubbleClientOptions();
        using var channel = HubbleChannelFactory.Create(HubbleTarget.Parse(target), options);
        using var call = FastGetFlows.Call(channel.CreateCallInvoker(), new GetFlowsRequest { Follow = true },
            new CallOptions(cancellationToken: ct), new FlowWireDecoder());
        try
        {
            await foreach (var item in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
                if (item is FlowRecord) Interlocked.Increment(ref counter[0]);
        }
        catch (Exception) when (ct.IsCancellationRequested) { }
    }
}
