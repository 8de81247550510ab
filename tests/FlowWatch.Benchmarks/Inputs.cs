using FlowWatch.Hubble.Proto.Observer;
using Google.Protobuf;

namespace FlowWatch.Benchmarks;

/// <summary>A set of serialized GetFlowsResponse messages, replayed in a loop with advancing timestamps.</summary>
public sealed record Input(string Name, IReadOnlyList<byte[]> Messages, long SpanNanos)
{
    public double AverageBytes => Messages.Average(m => m.Length);
}

/// <summary>Loads the inputs: the real recordings in ../shared/corpus (when present) and the simulator's mix.</summary>
public static class Inputs
{
    public static List<Input> Load(BenchOptions options)
    {
        var inputs = new List<Input>();
        var corpus = options.Corpus ?? FindCorpus();
        if (corpus is not null)
        {
            var parser = new JsonParser(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
            // Sorted by time so a pass through the recordings moves forward in event time, as a stream would.
            var responses = Directory.GetFiles(corpus, "*.jsonl").OrderBy(f => f)
                .SelectMany(File.ReadLines).Where(l => !string.IsNullOrWhiteSpace(l))
                .Select(l => parser.Parse<GetFlowsResponse>(l))
                .Where(r => r.ResponseTypesCase == GetFlowsResponse.ResponseTypesOneofCase.Flow)
                .OrderBy(r => r.Flow.Time.ToDateTimeOffset()).ToList();
            // The recordings are years apart; laid 10 µs apart they make a dense stream, as a busy Relay's is.
            var start = responses[0].Flow.Time.ToDateTimeOffset();
            for (var i = 0; i < responses.Count; i++)
                responses[i].Flow.Time = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(start.AddTicks(i * 100));
            inputs.Add(new Input("corpus", responses.Select(r => r.ToByteArray()).ToList(), responses.Count * 10_000L));
        }
        else Console.WriteLine("# corpus: ../shared/corpus not found; the corpus input did not run");
        return inputs;
    }

    private static string? FindCorpus()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FlowWatch.sln"))) dir = dir.Parent;
        if (dir is null) return null;
        var corpus = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "corpus"));
        return Directory.Exists(corpus) ? corpus : null;
    }
}
