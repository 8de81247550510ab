using System.Diagnostics;
using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Tests.Flows;
using FlowWatch.Tests.Support;
using Google.Protobuf;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Fuzz;

/// <summary>Hostile bytes into the wire decoder: no crash, no hang, no allocation out of proportion to the input.</summary>
public sealed class DecoderFuzzTests(ITestOutputHelper output)
{
    private static readonly JsonParser Json = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    [Fact]
    public void MutatedMessages_AreDecodedOrRejected_WithinTimeAndMemoryBounds()
    {
        var seeds = Seeds();
        var random = new Random(FuzzBudget.Seed);
        var mutator = new Mutator(random);
        // A small pool, so hostile names also exercise the interner's full-pool path.
        var decoder = new FlowWireDecoder(new StringPool(capacity: 512));
        long inputs = 0, decoded = 0, rejected = 0, worstAllocPerByte = 0;
        var slowest = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        var each = new Stopwatch();
        while (FuzzBudget.KeepGoing(clock, inputs, minimum: 1000))
        {
            var input = mutator.Mutate(seeds[random.Next(seeds.Count)], seeds);
            inputs++;
            var before = GC.GetAllocatedBytesForCurrentThread();
            each.Restart();
            var decodedOk = false;
            try
            {
                decoder.Decode(input, "fuzz");
                decodedOk = true;
                decoded++;
            }
            catch (FormatException) { rejected++; }
            catch (Exception e)
            {
                Assert.Fail($"seed {FuzzBudget.Seed}, input #{inputs}: {e.GetType().Name} escaped the decoder: {e.Message}\n{Convert.ToHexString(input)}");
            }
            each.Stop();
            if (each.Elapsed > slowest) slowest = each.Elapsed;
            Assert.True(each.Elapsed < FuzzBudget.HangLimit, $"seed {FuzzBudget.Seed}, input #{inputs} took {each.Elapsed}: {Convert.ToHexString(input)}");
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            // Names are the only growth (a UTF-16 string per input byte at most); the constant covers the record
            // and a thrown FormatException's stack trace. A hostile 4 GiB length prefix would blow far past it.
            var bound = 8L * input.Length + 65_536;
            // The runtime's own first-time costs (tiered JIT, exception metadata caches) land on whichever input
            // happens to meet them: an input over the bound is decoded again, and fails only if it is over again.
            if (allocated > bound) allocated = AllocatedDecoding(decoder, input);
            worstAllocPerByte = Math.Max(worstAllocPerByte, allocated / Math.Max(1, input.Length));
            Assert.True(allocated <= bound, $"seed {FuzzBudget.Seed}, input #{inputs} ({(decodedOk ? "decoded" : "rejected")}): {allocated} bytes allocated for {input.Length} input bytes (bound {bound}): {Convert.ToHexString(input)}");
        }
        output.WriteLine($"fuzz decoder: seed {FuzzBudget.Seed}, {inputs:N0} inputs in {clock.Elapsed.TotalSeconds:F1} s, {decoded:N0} decoded, {rejected:N0} rejected, slowest {slowest.TotalMilliseconds:F2} ms, worst {worstAllocPerByte} allocated bytes per input byte");
        Assert.True(decoded > 0 && rejected > 0, "the mutator should produce both decodable and undecodable inputs");
    }

    private static long AllocatedDecoding(FlowWireDecoder decoder, byte[] input)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        try { decoder.Decode(input, "fuzz"); } catch (FormatException) { }
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>Real corpus messages when the corpus is here, always some generated ones too.</summary>
    private List<byte[]> Seeds()
    {
        var seeds = new List<byte[]>();
        var random = new Random(1);
        for (var i = 0; i < 200; i++) seeds.Add(FlowWireDecoderTests.RandomResponse(random).ToByteArray());
        if (TestPaths.Corpus is null) output.WriteLine(TestPaths.CorpusMissing + " (fuzzing from generated seeds only)");
        foreach (var file in TestPaths.CorpusFiles)
            foreach (var line in File.ReadLines(file).Where(l => l.Length > 0).Take(50))
                seeds.Add(Json.Parse<GetFlowsResponse>(line).ToByteArray());
        return seeds;
    }
}
