using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using FlowWatch.Flows;
using FlowWatch.Replay;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Fuzz;

/// <summary>Whole broken recordings into the file reader (framing, gzip, BOMs, limits), not only single lines into the decoder.</summary>
public sealed class ReplayFileFuzzTests(ITestOutputHelper output)
{
    private const int MaxLine = 2048;
    private const long Runaway = 32 * 1024;

    private static readonly string[] Seeds =
    [
        """{"flow":{"time":"2026-12-01T10:00:00.1Z","verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","IP":{"source":"10.1.2.3","destination":"10.96.0.10"},"l4":{"UDP":{"source_port":40000,"destination_port":53}}},"node_name":"n1"}""",
        """{"time":"2026-12-01T10:00:00Z","verdict":"FORWARDED","l4":{"TCP":{"source_port":1,"destination_port":2,"flags":{"SYN":true}}}}""",
        """{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"7"}}""",
        """{"flow":{}}""",
        """{"flow":{"time":"1900-01-01T00:00:00Z","verdict":"FORWARDED"}}""",
        """{"lost_events":{"source":99,"num_events_lost":"18446744073709551615"}}""",
        "",
        "   ",
        "not json",
    ];

    [Fact]
    public void BrokenRecordings_AreReadToAnEndWithNumberedBadLines_NeverAnEscapedException()
    {
        var random = new Random(FuzzBudget.Seed);
        var mutator = new Mutator(random);
        var seedBytes = Seeds.Select(Encoding.UTF8.GetBytes).ToList();
        var reader = new FlowFileReader(new FlowConverter(new StringPool(capacity: 512)), maxLineBytes: MaxLine) { RunawayLineBytes = Runaway };
        long inputs = 0, items = 0, ended = 0;
        var clock = Stopwatch.StartNew();
        while (FuzzBudget.KeepGoing(clock, inputs, minimum: 20))
        {
            inputs++;
            var (bytes, shape) = Recording(random, mutator, seedBytes);
            var each = Stopwatch.StartNew();
            List<RecordedItem> read = [];
            try { read = reader.Read(new MemoryStream(bytes)).ToList(); }
            catch (Exception e)
            {
                Assert.Fail($"seed {FuzzBudget.Seed}, recording #{inputs} ({shape}, {bytes.Length} bytes): {e.GetType().Name} escaped the reader: {e.Message}");
            }
            Assert.True(each.Elapsed < FuzzBudget.HangLimit, $"seed {FuzzBudget.Seed}, recording #{inputs} ({shape}) took {each.Elapsed}");
            long lastLine = 0;
            for (var i = 0; i < read.Count; i++)
            {
                if (read[i].Bad is not { } bad) continue;
                Assert.False(string.IsNullOrWhiteSpace(bad.Reason));
                Assert.True(bad.LineNumber >= lastLine, $"seed {FuzzBudget.Seed}, #{inputs}: line numbers went back ({bad.LineNumber} after {lastLine})");
                lastLine = bad.LineNumber;
                if (bad.EndsInput)
                {
                    Assert.Equal(read.Count - 1, i);
                    ended++;
                }
            }
            items += read.Count;
        }
        output.WriteLine($"fuzz replay files: seed {FuzzBudget.Seed}, {inputs:N0} recordings, {items:N0} items, {ended:N0} ended early (cut/corrupt gzip, runaway line)");
    }

    /// <summary>Lines from mutated seeds, some over the limit, some endless; plain or gzip (maybe cut or damaged); maybe a BOM.</summary>
    private static (byte[] Bytes, string Shape) Recording(Random random, Mutator mutator, List<byte[]> seeds)
    {
        var text = new MemoryStream();
        var shape = new List<string>();
        var lines = random.Next(1, 40);
        for (var i = 0; i < lines; i++)
        {
            var seed = seeds[random.Next(seeds.Count)];
            var line = random.Next(4) == 0 ? mutator.Mutate(seed, seeds) : seed;
            switch (random.Next(20))
            {
                case 0: line = Enumerable.Repeat((byte)'x', MaxLine + random.Next(1, 3 * MaxLine)).ToArray(); shape.Add("long line"); break;
                case 1 when i == lines - 1: line = new byte[Runaway + random.Next(1, 4096)]; shape.Add("endless line"); break;
                case 2: line = [.. line, (byte)'\r']; break;
            }
            text.Write(line);
            if (i < lines - 1 || random.Next(2) == 0) text.WriteByte((byte)'\n');
        }
        var bytes = text.ToArray();
        switch (random.Next(5))
        {
            case 0: bytes = [0xEF, 0xBB, 0xBF, .. bytes]; shape.Add("utf-8 BOM"); break;
            case 1: bytes = [0xFF, 0xFE, .. Encoding.Convert(Encoding.UTF8, Encoding.Unicode, bytes)]; shape.Add("utf-16 BOM"); break;
        }
        if (random.Next(2) == 0)
        {
            var gz = new MemoryStream();
            using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(bytes);
            bytes = gz.ToArray();
            shape.Add("gzip");
            switch (random.Next(4))
            {
                case 0: bytes = bytes[..random.Next(0, bytes.Length)]; shape.Add("cut"); break;
                // GZipStream writes nothing at all for an empty input, so there may be no byte to flip.
                case 1 when bytes.Length > 0: bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8)); shape.Add("bit flipped"); break;
            }
        }
        return (bytes, string.Join(", ", shape));
    }
}
