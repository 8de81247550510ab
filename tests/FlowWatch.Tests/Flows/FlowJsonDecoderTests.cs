using System.Text;
using FlowWatch.Flows;
using FlowWatch.Flows.Json;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Tests.Fuzz;
using FlowWatch.Tests.Support;
using Google.Protobuf;
using Xunit.Abstractions;
using PbFlow = FlowWatch.Hubble.Proto.Flow.Flow;

namespace FlowWatch.Tests.Flows;

/// <summary>The direct JSON decoder must agree with Google.Protobuf's JSON parser plus FlowConverter, field by field.</summary>
public sealed class FlowJsonDecoderTests(ITestOutputHelper output)
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    /// <summary>What the reference path (the reader before the direct decoder) made of a line.</summary>
    private sealed record Outcome(ResponseKind Kind, FlowRecord? Flow, int LostSource, ulong LostCount, string? Error);

    // The replay reader's former decode, kept here as the reference: the generated JSON parser, then the converter.
    private static Outcome Reference(string line, string? fallback)
    {
        var converter = new FlowConverter();
        try
        {
            var response = Parser.Parse<GetFlowsResponse>(line);
            switch (response.ResponseTypesCase)
            {
                case GetFlowsResponse.ResponseTypesOneofCase.Flow:
                    return new Outcome(ResponseKind.Flow, converter.Convert(response.Flow, response.NodeName.Length != 0 ? response.NodeName : fallback), 0, 0, null);
                case GetFlowsResponse.ResponseTypesOneofCase.LostEvents:
                    return new Outcome(ResponseKind.LostEvents, null, (int)response.LostEvents.Source, response.LostEvents.NumEventsLost, null);
                case GetFlowsResponse.ResponseTypesOneofCase.NodeStatus:
                    return new Outcome(ResponseKind.Other, null, 0, 0, null);
            }
            var flow = Parser.Parse<PbFlow>(line);
            if (flow.Time is null && flow.IP is null && flow.L4 is null && flow.Verdict == 0)
                return new Outcome(ResponseKind.Other, null, 0, 0, "holds no flow");
            return new Outcome(ResponseKind.Flow, converter.Convert(flow, fallback), 0, 0, null);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException or InvalidOperationException)
        {
            return new Outcome(ResponseKind.Other, null, 0, 0, e.GetType().Name + ": " + e.Message);
        }
    }

    private static Outcome Direct(FlowJsonDecoder decoder, byte[] line, string? fallback)
    {
        try
        {
            var d = decoder.Decode(line, fallback);
            return new Outcome(d.Kind, d.Flow, d.LostSource, d.LostCount, null);
        }
        catch (FormatException e) { return new Outcome(ResponseKind.Other, null, 0, 0, e.Message); }
    }

    /// <summary>Both accepted and agree, or both refused; false when only one refused (the caller decides if that is allowed).</summary>
    private static bool Compare(string line, byte[] bytes, FlowJsonDecoder decoder, string where, out Outcome expected, out Outcome actual)
    {
        expected = Reference(line, "fallback");
        actual = Direct(decoder, bytes, "fallback");
        if ((expected.Error is null) != (actual.Error is null)) return false;
        if (expected.Error is not null) return true;
        Assert.True(expected.Kind == actual.Kind, $"{where}: kind {expected.Kind} vs {actual.Kind}\n{line}");
        if (expected.Kind == ResponseKind.Flow) FlowWireDecoderTests.AssertSame(expected.Flow!, actual.Flow!, where);
        if (expected.Kind == ResponseKind.LostEvents)
        {
            Assert.Equal(expected.LostSource, actual.LostSource);
            Assert.Equal(expected.LostCount, actual.LostCount);
        }
        return true;
    }

    private static void CheckAgrees(string line, FlowJsonDecoder decoder, string where)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        var same = Compare(line, bytes, decoder, where, out var expected, out var actual);
        Assert.True(same, $"{where}: reference says '{expected.Error ?? "ok"}', direct decoder says '{actual.Error ?? "ok"}'\n{line}");
    }

    [SkippableFact]
    public void AgreesWithReference_OnEveryCorpusLine()
    {
        TestPaths.RequireCorpus();
        var decoder = new FlowJsonDecoder();
        var n = 0;
        foreach (var file in TestPaths.CorpusFiles.Where(f => f.EndsWith(".jsonl", StringComparison.Ordinal)))
        {
            var lineNo = 0;
            foreach (var line in File.ReadLines(file))
            {
                lineNo++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                CheckAgrees(line, decoder, $"{Path.GetFileName(file)}:{lineNo}");
                Assert.Null(Reference(line, null).Error);
                n++;
            }
        }
        output.WriteLine($"{n} corpus lines agree field by field");
        Assert.True(n >= 1900);
    }

    public static TheoryData<bool, bool, bool> Spellings => new()
    {
        { true, false, false }, { false, false, false }, { true, true, false }, { false, true, true }, { true, false, true },
    };

    [Theory]
    [MemberData(nameof(Spellings))]
    public void AgreesWithReference_OnRandomMessages(bool protoNames, bool enumsAsNumbers, bool bareFlow)
    {
        var formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(protoNames)
            .WithFormatEnumsAsIntegers(enumsAsNumbers).WithFormatDefaultValues(bareFlow));
        var random = new Random(20261201);
        var decoder = new FlowJsonDecoder();
        for (var i = 0; i < 3000; i++)
        {
            var response = FlowWireDecoderTests.RandomResponse(random);
            var line = bareFlow && response.Flow is { } f ? formatter.Format(f) : formatter.Format(response);
            CheckAgrees(line, decoder, $"random #{i}");
        }
    }

    // Values of the wrong type, out of range, or spelled the way protojson also accepts.
    private static readonly string[] Values =
    [
        "null", "true", "false", "[]", "{}", "\"\"", "0", "-0", "1", "-1", "1.0", "1.5", "1e2", "\"1e2\"", "\"+1\"", "\"01\"",
        "\"-0\"", "4294967295", "4294967296", "\"4294967296\"", "18446744073709551615", "9007199254740993", "1e999", "\"7\"",
        "\"FORWARDED\"", "\"DROPPED\"", "\"EGRESS\"", "\"POLICY_DENIED\"", "\"TO_ENDPOINT\"", "\"RESPONSE\"", "\"L7\"", "\"NOPE\"",
        "\"2026-12-01T10:00:00Z\"", "\"2026-12-01T10:00:00.5+01:30\"", "\"2026-02-30T10:00:00Z\"", "\"2026-12-01T10:00:00-00:00\"",
        "\"0001-01-01T00:00:00+01:00\"", "\"2026-12-01T24:00:00Z\"", "\"2026-12-01T10:00:00.1234567891Z\"", "\"2026-12-01T10:00:00Z\\n\"",
        "\"10.0.0.\\u0031\"", "\"fe80::1\"", "\"a\\\"b\"", "\"\\u00e9t\\u00e9\"", "[\"x\"]", "[null]", "[1]", "[{}]", "{\"name\":\"w\"}",
        "{\"TCP\":{}}", "{\"TCP\":null,\"UDP\":{}}", "{\"dns\":{},\"http\":{}}", "{\"SYN\":true,\"SYN\":null}",
    ];

    [Fact]
    public void MutatedLines_EitherBothRefuseOrAgree_AndNoLineTheReferenceReadsIsRefused()
    {
        var seeds = SeedLines();
        var seedBytes = seeds.Select(Encoding.UTF8.GetBytes).ToList();
        var random = new Random(16);
        var mutator = new Mutator(random);
        var decoder = new FlowJsonDecoder();
        int agreed = 0, bothRefused = 0, onlyDirectRefused = 0, onlyReferenceRefused = 0;
        var examples = new List<string>();
        for (var i = 0; i < 30000; i++)
        {
            byte[] bytes;
            if (random.Next(3) == 0)
                bytes = mutator.Mutate(seedBytes[random.Next(seeds.Count)], seedBytes);
            else
                bytes = Encoding.UTF8.GetBytes(ReplaceValue(seeds[random.Next(seeds.Count)], random));
            if (Array.IndexOf(bytes, (byte)'\n') >= 0) continue;
            // The reference reads lines as text: invalid UTF-8 becomes U+FFFD before its parser sees it.
            var line = Encoding.UTF8.GetString(bytes);
            if (Compare(line, bytes, decoder, $"mutation #{i}", out var expected, out var actual))
            {
                if (expected.Error is null) agreed++; else bothRefused++;
                continue;
            }
            if (actual.Error is not null)
            {
                onlyDirectRefused++;
                if (examples.Count < 5) examples.Add($"direct refused '{actual.Error}': {line}");
            }
            else onlyReferenceRefused++;
        }
        output.WriteLine($"mutated lines: {agreed} agreed, {bothRefused} refused by both, {onlyReferenceRefused} read only by the direct decoder " +
                         $"(a malformed field FlowWatch does not read), {onlyDirectRefused} refused only by the direct decoder");
        foreach (var e in examples) output.WriteLine(e);
        Assert.True(agreed > 5000 && bothRefused > 1000, "the mutations should give both readable and unreadable lines");
        Assert.True(onlyDirectRefused == 0, string.Join("\n", examples));
    }

    // Replaces one value (after a colon or inside an array) with another of the list, or doubles a key, or escapes a name.
    private static string ReplaceValue(string text, Random random)
    {
        for (var n = random.Next(1, 3); n > 0; n--)
        {
            var colon = text.IndexOf(':', random.Next(text.Length));
            if (colon < 0) continue;
            var end = ValueEnd(text, colon + 1);
            switch (random.Next(6))
            {
                case 0:
                    // Duplicate the key with another value: later wins, repeated fields append.
                    var keyStart = text.LastIndexOf('"', text.LastIndexOf('"', colon - 1) - 1);
                    if (keyStart < 0) break;
                    text = text[..end] + "," + text[keyStart..(colon + 1)] + Values[random.Next(Values.Length)] + text[end..];
                    break;
                case 1:
                    var q = text.LastIndexOf('"', colon - 1);
                    if (q > 1 && char.IsAsciiLetterLower(text[q - 1])) text = text[..(q - 1)] + $"\\u{(int)text[q - 1]:x4}" + text[q..];
                    break;
                default:
                    text = text[..(colon + 1)] + Values[random.Next(Values.Length)] + text[end..];
                    break;
            }
        }
        return text;
    }

    private static int ValueEnd(string text, int start)
    {
        int depth = 0, i = start;
        var inString = false;
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (inString) { if (c == '\\') i++; else if (c == '"') inString = false; continue; }
            if (c == '"') inString = true;
            else if (c is '{' or '[') depth++;
            else if (c is '}' or ']') { if (depth == 0) break; depth--; }
            else if (c == ',' && depth == 0) break;
        }
        return i;
    }

    private static List<string> SeedLines()
    {
        var random = new Random(3);
        var formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true));
        var seeds = Enumerable.Range(0, 200).Select(_ => formatter.Format(FlowWireDecoderTests.RandomResponse(random))).ToList();
        foreach (var file in TestPaths.CorpusFiles.Where(f => f.EndsWith(".jsonl", StringComparison.Ordinal)))
            seeds.AddRange(File.ReadLines(file).Where(l => l.Length > 0).Take(40));
        return seeds;
    }

    [Fact]
    public void LostEventsAndNodeStatus_AreNotFlows()
    {
        var decoder = new FlowJsonDecoder();
        var lost = decoder.Decode("""{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"7"},"node_name":"n1"}"""u8);
        Assert.Equal(ResponseKind.LostEvents, lost.Kind);
        Assert.Equal(3, lost.LostSource);
        Assert.Equal(7UL, lost.LostCount);
        Assert.Equal("n1", lost.NodeName);
        var status = decoder.Decode("""{"node_status":{"state_change":"NODE_CONNECTED","node_names":["a"]},"node_name":"relay"}"""u8);
        Assert.Equal(ResponseKind.Other, status.Kind);
        Assert.Null(status.Flow);
    }

    [Theory]
    [InlineData("""{"flow":{"verdict":"DROPPED"}} x""", "invalid JSON")]
    [InlineData("""{"flow":{"verdict":"DROPPED"},"lost_events":{}}""", "oneof")]
    [InlineData("""{"flow":{"time":"yesterday"}}""", "Timestamp")]
    [InlineData("""{"ethernet":{},"Summary":"x"}""", "holds no flow")]
    [InlineData("""[1,2]""", "not a JSON object")]
    public void MalformedLines_AreRefusedWithAReason(string line, string reason)
    {
        var e = Assert.Throws<FormatException>(() => new FlowJsonDecoder().Decode(Encoding.UTF8.GetBytes(line)));
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void RepeatedEndpointsAndNames_AreShared_NotDecodedAgain()
    {
        var decoder = new FlowJsonDecoder(new StringPool());
        var line = """{"flow":{"time":"2026-12-01T10:00:00Z","source":{"identity":9,"namespace":"shop","pod_name":"cart-7d4d858f75-j76f7","labels":["k8s:app=cart"]},"node_name":"n1"}}"""u8;
        var a = decoder.Decode(line).Flow!;
        var b = decoder.Decode(line).Flow!;
        Assert.Same(a.Source, b.Source);
        Assert.Same(a.NodeName, b.NodeName);
        Assert.Equal("cart", a.Source.Workload);
    }
}
