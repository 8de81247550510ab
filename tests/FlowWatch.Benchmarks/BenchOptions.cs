namespace FlowWatch.Benchmarks;

/// <summary>Benchmark settings from the command line.</summary>
public sealed record BenchOptions(long Flows, int Repeats, string? Corpus, bool Store = false, int? StoreFlows = null,
    bool Stages = false, bool Grpc = true, long GrpcFlows = 1_000_000, bool Scale = false, double ScaleSeconds = 120, double ScaleRate = 0, string? ScaleStage = null,
    bool Replay = true, long ReplayLines = 300_000, bool ReplayOnly = false, bool GrpcOnly = false,
    bool ScaleInFullRun = true, double? ScaleSecondsGiven = null)
{
    public const string Usage =
        "usage: FlowWatch.Benchmarks [--flows N] [--repeats N] [--corpus DIR] [--stages] [--no-grpc] [--grpc-flows N]\n" +
        "                            [--no-replay] [--replay-lines N] [--replay-only] [--grpc-only] [--no-scale]\n" +
        "                            [--store] [--store-flows N] [--scale] [--scale-seconds S] [--scale-rate R]\n" +
        "Default: on the same bytes (the simulator's mix, every scenario on, and the corpus recordings when present),\n" +
        "flows/s and allocated bytes per flow of the generated protobuf parser (baseline), FlowWatch's wire decoder\n" +
        "and FlowWatch's full pipeline; the store's bytes per retained flow; then over loopback gRPC the simulator\n" +
        "streaming to a decode-only client and to FlowWatch whole. Each figure is the best of --repeats runs; _min/_max\n" +
        "lines give the range.\n" +
        "Replay: each input written once to /tmp as `hubble observe -o jsonpb` lines (--replay-lines, default 300,000), read\n" +
        "by `hubble observe --input-file F -o jsonpb --all` (when ../shared/bin/hubble exists) and by FlowWatch's replay,\n" +
        "back to back in each round; lines/s of each and their ratio. --replay-only: just that.\n" +
        "gRPC: an in-process server writes cached GetFlowsResponse frames (not the bottleneck) to a decode-only client\n" +
        "and to FlowWatch whole, --grpc-flows each (default 1,000,000), after 100,000 warm-up flows. --grpc-only: just that.\n" +
        "--stages: also the pipeline with one stage at a time switched on (store, each detector), to attribute cost.\n" +
        "--store: instead, fill the recent-flow store to its bound (default, or N flows) and time the common queries.\n" +
        "--scale: instead, a 5,000-node, 100,000-pod, 10,000-service cluster with pod churn through the full pipeline\n" +
        "for S seconds of event time (default 120) at R flows/s of event time (default: as fast as it goes): memory\n" +
        "sampled over time, flows/s, and onset-to-finding times of a DNS drop burst and a duplicate IP injected late.\n" +
        "--scale-stage NAME: the scale traffic through one stage only (bare, store, or a detector's registry name with _ for -),\n" +
        "to attribute cost.\n" +
        "The default run ends with the scale run (in a child process, 40 s of event time, or --scale-seconds S; --no-scale\n" +
        "leaves it out) and prints issue 16's target table as target.* lines, each figure met, NOT met, or DID NOT RUN.";

    public static BenchOptions? Parse(string[] args)
    {
        var o = new BenchOptions(2_000_000, 3, null);
        for (var i = 0; i < args.Length; i++)
        {
            string? Next() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--flows" when long.TryParse(Next(), out var f) && f > 0: o = o with { Flows = f }; break;
                case "--repeats" when int.TryParse(Next(), out var r) && r > 0: o = o with { Repeats = r }; break;
                case "--corpus" when Next() is { } c: o = o with { Corpus = c }; break;
                case "--stages": o = o with { Stages = true }; break;
                case "--no-grpc": o = o with { Grpc = false }; break;
                case "--grpc-flows" when long.TryParse(Next(), out var g) && g > 0: o = o with { GrpcFlows = g }; break;
                case "--scale-stage" when Next() is { } st: o = o with { Scale = true, ScaleStage = st }; break;
                case "--grpc-only": o = o with { GrpcOnly = true, Grpc = true }; break;
                case "--no-scale": o = o with { ScaleInFullRun = false }; break;
                case "--no-replay": o = o with { Replay = false }; break;
                case "--replay-only": o = o with { ReplayOnly = true, Replay = true }; break;
                case "--replay-lines" when long.TryParse(Next(), out var rl) && rl > 0: o = o with { ReplayLines = rl }; break;
                case "--store": o = o with { Store = true }; break;
                case "--store-flows" when int.TryParse(Next(), out var sf) && sf > 0: o = o with { Store = true, StoreFlows = sf }; break;
                case "--scale": o = o with { Scale = true }; break;
                case "--scale-seconds" when double.TryParse(Next(), System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0: o = o with { ScaleSeconds = s, ScaleSecondsGiven = s }; break;
                case "--scale-rate" when double.TryParse(Next(), System.Globalization.CultureInfo.InvariantCulture, out var sr) && sr > 0: o = o with { Scale = true, ScaleRate = sr }; break;
                default:
                    Console.Error.WriteLine(Usage);
                    return null;
            }
        }
        return o;
    }
}
