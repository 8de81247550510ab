using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Simulation;
using Google.Protobuf;

namespace FlowWatch.Benchmarks;

/// <summary>A set of serialized GetFlowsResponse messages, replayed in a loop with advancing timestamps.</summary>
public sealed record Input(string Name, IReadOnlyList<byte[]> Messages, long SpanNanos)
{
    public double AverageBytes => Messages.Average(m => m.Length);
}

/// <summary>Loads the inputs: the simulator's mix (every scenario on) and the real recordings in ../shared/corpus (when present).</summary>
public static class Inputs
{
    public static readonly DateTimeOffset SimStart = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    public static List<Input> Load(BenchOptions options)
    {
        var inputs = new List<Input> { Simulator() };
        var corpus = options.Corpus ?? FindCorpus();
        if (corpus is not null) inputs.Add(Corpus(corpus));
        else Console.WriteLine("# corpus: ../shared/corpus not found; the corpus input DID NOT RUN");
        return inputs;
    }

    /// <summary>200,000 flows of a 5-node cluster at 100,000 flows/s with every scenario on: 2 s of event time.</summary>
    public static Input Simulator(int flows = 200_000, double rate = 100_000)
    {
        var generator = new TrafficGenerator(1, 5, ScenarioSet.All, rate);
        var duration = TimeSpan.FromSeconds(flows / rate);
        var messages = generator.Generate(SimStart, duration).Where(r => r.Flow is not null).Select(r => r.ToByteArray()).ToList();
        return new Input("sim", messages, (long)(duration.TotalSeconds * 1e9));
    }

    public static Input Corpus(string corpus)
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
        return new Input("corpus", responses.Select(r => r.ToByteArray()).ToList(), responses.Count * 10_000L);
    }

    private static string? FindCorpus()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FlowWatch.sln"))) dir = dir.Parent;
        if (dir is null) return null;
        // A worktree sits beside main under /work, as does shared/.
        foreach (var up in new[] { "..", "../.." })
        {
            var corpus = Path.GetFullPath(Path.Combine(dir.FullName, up, "shared", "corpus"));
            if (Directory.Exists(corpus)) return corpus;
        }
        return null;
    }
}
