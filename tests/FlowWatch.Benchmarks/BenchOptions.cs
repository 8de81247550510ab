namespace FlowWatch.Benchmarks;

/// <summary>Benchmark settings from the command line.</summary>
public sealed record BenchOptions(long Flows, int Repeats, string? Corpus, bool Store = false, int? StoreFlows = null)
{
    public static BenchOptions? Parse(string[] args)
    {
        long flows = 2_000_000;
        var repeats = 3;
        string? corpus = null;
        var store = false;
        int? storeFlows = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--flows" when i + 1 < args.Length && long.TryParse(args[i + 1], out var f) && f > 0: flows = f; i++; break;
                case "--repeats" when i + 1 < args.Length && int.TryParse(args[i + 1], out var r) && r > 0: repeats = r; i++; break;
                case "--corpus" when i + 1 < args.Length: corpus = args[++i]; break;
                case "--store": store = true; break;
                case "--store-flows" when i + 1 < args.Length && int.TryParse(args[i + 1], out var sf) && sf > 0: store = true; storeFlows = sf; i++; break;
                default:
                    Console.Error.WriteLine("usage: FlowWatch.Benchmarks [--flows N] [--repeats N] [--corpus DIR] [--store] [--store-flows N]\n" +
                        "Prints flows/s, allocated bytes per flow and peak working set for the generated protobuf parser\n" +
                        "(baseline), FlowWatch's wire decoder, and FlowWatch's full pipeline, on the same bytes.\n" +
                        "--store: instead, fill the recent-flow store to its bound (default, or N flows) with simulator flows\n" +
                        "and print bytes per retained flow and p50/p99 times of the common queries.");
                    return null;
            }
        }
        return new BenchOptions(flows, repeats, corpus, store, storeFlows);
    }
}
