using FlowWatch.Detectors;
using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Pipeline;
using FlowWatch.Store;

namespace FlowWatch.Benchmarks;

/// <summary>The things measured: the generated parser alone, the wire decoder alone, FlowWatch whole, and FlowWatch in parts.</summary>
public static class Contenders
{
    /// <summary>Google.Protobuf's generated parser on the bytes, and nothing else.</summary>
    public static IContender GeneratedParser() => new Generated();

    public static IContender WireDecoderOnly() => new DecoderOnly();

    /// <summary>Decode to the record, every detector, metrics and the store: the real runtime's pipeline.</summary>
    public static IContender FullPipeline() => new Full();

    /// <summary>
    /// Stages switched on one at a time, to attribute the full pipeline's cost: the pipeline with no sink and no
    /// detector, with the store only, and with each detector alone (the handshake pair shares its classifier).
    /// </summary>
    public static IEnumerable<(string Name, Func<IContender> Create)> Stages()
    {
        yield return ("stage_pipeline_bare", () => new Partial(_ => [], store: false));
        yield return ("stage_store_only", () => new Partial(_ => [], store: true));
        // Named from the registry, in its order, so a stage's name is always the detector it runs.
        var names = DetectorNames;
        for (var i = 0; i < names.Count; i++)
        {
            var index = i;
            yield return ($"stage_detector_{names[i]}", () => new Partial(all => [all[index]], store: false));
        }
    }

    /// <summary>Each detector's registry name with '-' as '_', in the order <see cref="DetectorSet.Create"/> builds them.</summary>
    public static IReadOnlyList<string> DetectorNames =>
        FlowWatch.Detectors.Registry.DetectorRegistry.All.Select(d => d.Name.Replace('-', '_')).ToList();

    /// <summary>A pipeline with one stage on: "bare", "store", or a detector's name.</summary>
    public static FlowPipeline StagePipeline(string stage)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry());
        var all = DetectorSet.Create(DetectorSettings.Default);
        var index = DetectorNames.ToList().IndexOf(stage);
        if (stage is not ("bare" or "store") && index < 0)
            throw new ArgumentException($"unknown stage '{stage}' (bare, store, {string.Join(", ", DetectorNames)})");
        IFlowSink[] sinks = stage == "store" ? [new FlowStore(FlowStoreOptions.Default, factory)] : [];
        return new FlowPipeline(index >= 0 ? [all[index]] : [], factory, sinks);
    }

    private sealed class Generated : IContender
    {
        public long Sink;
        public void Handle(byte[] message, long sequence, long shift) => Sink += GetFlowsResponse.Parser.ParseFrom(message).NodeName.Length;
        public void Dispose() { }
    }

    private sealed class DecoderOnly : IContender
    {
        private readonly FlowWireDecoder _decoder = new();
        public long Sink;
        public void Handle(byte[] message, long sequence, long shift) => Sink += _decoder.Decode(message, null, shift).Flow?.DestinationPort ?? 0;
        public void Dispose() { }
    }

    private sealed class Full : IContender
    {
        private readonly FlowWatchRuntime _runtime = new(new RuntimeOptions(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        private readonly FlowWireDecoder _decoder;

        // Records rented from the runtime's pool and returned by its pipeline, as the Hubble client's decoder does.
        public Full() => _decoder = new FlowWireDecoder { Records = _runtime.Records };

        public void Handle(byte[] message, long sequence, long shift)
        {
            var flow = _decoder.Decode(message, null, shift).Flow;
            if (flow is not null) _runtime.Pipeline.Process(flow);
        }

        public void Dispose()
        {
            var pool = _runtime.Records;
            var reorder = _runtime.Pipeline.Reorder;
            // Where the allocation per flow comes from when records are not reused: the pool's swings with the reorder stage.
            if (pool is not null)
                Console.WriteLine($"# full pipeline records: made {pool.Created:N0}, reused {pool.Reused:N0}, left to the GC {pool.Discarded:N0}, " +
                    $"at most {pool.PeakOutstanding:N0} out at once; reorder stage: {reorder.Count:N0} held at the end, {reorder.Forced:N0} forced, {reorder.OutOfOrder:N0} passed on out of order");
            _runtime.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private sealed class Partial : IContender
    {
        private readonly FlowWireDecoder _decoder;
        private readonly FlowPipeline _pipeline;

        public Partial(Func<IReadOnlyList<IDetector>, IReadOnlyList<IDetector>> pick, bool store)
        {
            var factory = Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry());
            var all = DetectorSet.Create(DetectorSettings.Default);
            IFlowSink[] sinks = store ? [new FlowStore(FlowStoreOptions.Default, factory)] : [];
            _pipeline = new FlowPipeline(pick(all), factory, sinks);
            _decoder = new FlowWireDecoder { Records = _pipeline.ReturnsRecords ? new FlowRecordPool() : null };
        }

        public void Handle(byte[] message, long sequence, long shift)
        {
            var flow = _decoder.Decode(message, null, shift).Flow;
            if (flow is not null) _pipeline.Process(flow);
        }

        public void Dispose() => _pipeline.Dispose();
    }
}
