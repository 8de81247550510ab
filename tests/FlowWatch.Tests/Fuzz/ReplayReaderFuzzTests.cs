using System.Diagnostics;
using System.Text;
using FlowWatch.Flows;
using FlowWatch.Replay;
using FlowWatch.Tests.Support;
using Xunit.Abstractions;

namespace FlowWatch.Tests.Fuzz;

/// <summary>Broken recordings into the JSON replay reader: every line is a flow or a counted bad line, never a crash.</summary>
public sealed class ReplayReaderFuzzTests(ITestOutputHelper output)
{
    // Values of the wrong type or absurd size where Hubble's JSON has enums, strings, 64-bit numbers and times.
    private static readonly string[] JsonTrouble =
    [
        "null", "true", "[]", "{}", "\"\"", "-1", "1e999999", "18446744073709551616", "\"DROPPEDX\"",
        "\"2026-13-45T99:99:99Z\"", "\"\\ud800\"", "{\"a\":", "]", "}", ",", ":", "\"", "\\",
        new string('[', 5000), new string('{', 200) + "\"x\":1",
    ];

    [Fact]
    public void MutatedLines_AreFlowsOrCountedBadLines_NeverAnEscapedException()
    {
        var seeds = Seeds();
        var seedBytes = seeds.Select(Encoding.UTF8.GetBytes).ToList();
        var random = new Random(FuzzBudget.Seed);
        var mutator = new Mutator(random);
        var reader = new FlowFileReader(new FlowConverter(new StringPool(capacity: 512)), maxLineBytes: 64 * 1024);
        long inputs = 0, flows = 0, bad = 0, other = 0;
        var slowest = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        var each = new Stopwatch();
        while (FuzzBudget.KeepGoing(clock, inputs, minimum: 200))
        {
            var line = Mutate(seeds, seedBytes, random, mutator);
            inputs++;
            each.Restart();
            RecordedItem item = default;
            try { item = reader.ParseLine(line, inputs); }
            catch (Exception e)
            {
                Assert.Fail($"seed {FuzzBudget.Seed}, input #{inputs}: {e.GetType().Name} escaped the reader: {e.Message}\n{line}");
            }
            each.Stop();
            if (each.Elapsed > slowest) slowest = each.Elapsed;
            Assert.True(each.Elapsed < FuzzBudget.HangLimit, $"seed {FuzzBudget.Seed}, input #{inputs} took {each.Elapsed}");
            if (item.Flow is not null) flows++;
            else if (item.Bad is { } b)
            {
                bad++;
                Assert.Equal(inputs, b.LineNumber);
                Assert.False(string.IsNullOrWhiteSpace(b.Reason));
            }
            else other++;
        }
        output.WriteLine($"fuzz replay reader: seed {FuzzBudget.Seed}, {inputs:N0} lines in {clock.Elapsed.TotalSeconds:F1} s, {flows:N0} flows, {bad:N0} bad lines (each with its number and reason), {other:N0} lost-events/node-status, slowest {slowest.TotalMilliseconds:F1} ms");
        Assert.True(flows > 0 && bad > 0, "the mutator should produce both readable and unreadable lines");
    }

    [Fact]
    public void OversizedLine_IsRefusedByTheLimit_AndTheNextLineStillReads()
    {
        const string good = """{"flow":{"time":"2026-12-01T10:00:00Z","verdict":"DROPPED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"}},"node_name":"n1"}""";
        var huge = "{\"flow\":{\"uuid\":\"" + new string('x', 5000) + "\"}}";
        var reader = new FlowFileReader(new FlowConverter(), maxLineBytes: 4096);
        var items = reader.Read(new MemoryStream(Encoding.UTF8.GetBytes(huge + "\n" + good + "\n"))).ToList();
        Assert.Equal(2, items.Count);
        Assert.NotNull(items[0].Bad);
        Assert.Equal(1, items[0].Bad!.LineNumber);
        Assert.Contains("4096-byte limit", items[0].Bad!.Reason);
        Assert.Equal(Verdict.Dropped, items[1].Flow!.Verdict);
    }

    private static string Mutate(List<string> seeds, List<byte[]> seedBytes, Random random, Mutator mutator)
    {
        var i = random.Next(seeds.Count);
        if (random.Next(2) == 0)
            return Encoding.UTF8.GetString(mutator.Mutate(seedBytes[i], seedBytes)).Replace("\n", " ");
        // Replace one JSON value (after a colon) with trouble of another type.
        var text = seeds[i];
        var colon = text.IndexOf(':', random.Next(text.Length));
        if (colon < 0) return text;
        var end = colon + 1;
        while (end < text.Length && text[end] is not (',' or '}' or ']')) end++;
        return text[..(colon + 1)] + JsonTrouble[random.Next(JsonTrouble.Length)] + text[end..];
    }

    private List<string> Seeds()
    {
        var seeds = new List<string>
        {
            """{"flow":{"time":"2026-12-01T10:00:00.123456789Z","uuid":"u1","verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","IP":{"source":"10.1.2.3","destination":"10.96.0.10","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":40000,"destination_port":53}},"source":{"identity":3,"namespace":"shop","pod_name":"cart-1"},"Type":"L3_L4","is_reply":false,"l7":{"type":"REQUEST","latency_ns":"1800000","dns":{"query":"api.example.com.","rcode":5}}},"node_name":"n1","time":"2026-12-01T10:00:00.123456789Z"}""",
            """{"time":"2026-12-01T10:00:00Z","verdict":"FORWARDED","l4":{"TCP":{"source_port":1,"destination_port":2,"flags":{"SYN":true}}}}""",
            """{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"7"}}""",
            // Shapes from the hostile-input pass (issue 15): empty flow, times outside 1970..2262, numeric and unknown
            // lost-event sources, counts at u64's edge.
            """{"flow":{}}""",
            """{"flow":{"time":"1900-01-01T00:00:00Z","verdict":"FORWARDED"}}""",
            """{"flow":{"time":"9999-12-31T23:59:59.999999999Z","verdict":"DROPPED"}}""",
            """{"lost_events":{"source":99,"num_events_lost":"18446744073709551615"}}""",
            """{"lost_events":{"source":"NOT_A_SOURCE","num_events_lost":"1"}}""",
        };
        if (TestPaths.Corpus is null) output.WriteLine(TestPaths.CorpusMissing + " (fuzzing from built-in seeds only)");
        foreach (var file in TestPaths.CorpusFiles)
            seeds.AddRange(File.ReadLines(file).Where(l => l.Length > 0).Take(30));
        return seeds;
    }
}
