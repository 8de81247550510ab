using FlowWatch.Flows;
using FlowWatch.Hosting;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Pipeline;

namespace FlowWatch.Benchmarks;

/// <summary>The things measured: the generated parser alone, the wire decoder alone, and FlowWatch whole.</summary>
public static class Contenders
{
    /// <summary>Google.Protobuf's generated parser on the bytes, and nothing else.</summary>
    public static IContender GeneratedParser() => new Generated();

    public static IContender WireDecoderOnly() => new DecoderOnly();

    /// <summary>Decode to the record, every detector, metrics and sinks: the real pipeline.</summary>
    public static IContender FullPipeline() => new Full();

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
        public void Handle(byte[] message, long sequence, long shift) => Sink += _decoder.Decode(message).Flow?.DestinationPort ?? 0;
        public void Dispose() { }
    }

    private sealed class Full : IContender
    {
        private readonly FlowWireDecoder _decoder = new();
        private readonly FlowWatchRuntime _runtime = new(new RuntimeOptions(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        public void Handle(byte[] message, long sequence, long shift)
        {
            var flow = _decoder.Decode(message, null, shift).Flow;
            if (flow is not null) _runtime.Pipeline.Process(flow);
        }

        public void Dispose() => _runtime.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
