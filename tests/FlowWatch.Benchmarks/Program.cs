using System.Diagnostics;
using System.Globalization;
using FlowWatch.Benchmarks;

// One run, the same pre-recorded bytes for every contender; figures as `name: value` lines.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var options = BenchOptions.Parse(args);
if (options is null) return 1;
if (options.Store)
{
    StoreBench.Run(options.StoreFlows, options.Repeats);
    Console.WriteLine($"peak_working_set_mb: {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0}");
    return 0;
}
var inputs = Inputs.Load(options);
foreach (var input in inputs)
{
    Console.WriteLine($"# input {input.Name}: {input.Messages.Count:N0} distinct messages, {input.AverageBytes:F0} bytes each on average, {options.Flows:N0} flows per measurement");
    var baseline = Measure.Run($"{input.Name}.baseline_generated_parser", options, input, Contenders.GeneratedParser);
    Measure.Run($"{input.Name}.wire_decoder_only", options, input, Contenders.WireDecoderOnly);
    var full = Measure.Run($"{input.Name}.flowwatch_full_pipeline", options, input, Contenders.FullPipeline);
    Console.WriteLine($"{input.Name}.ratio_full_pipeline_to_baseline: {full.FlowsPerSecond / baseline.FlowsPerSecond:F2}");
}
Console.WriteLine($"peak_working_set_mb: {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0}");
return 0;
