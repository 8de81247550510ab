using System.Diagnostics;
using System.Globalization;
using FlowWatch.Benchmarks;

// One run, the same pre-recorded bytes for every contender; figures as `name: value` lines.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] is "--kube-sync" or "--kube-api-serve") return FlowWatch.Benchmarks.Kubernetes.KubeSyncBench.Run(args);
var options = BenchOptions.Parse(args);
if (options is null) return 1;
Console.WriteLine($"# {Environment.ProcessorCount} cores, load average {Machine.LoadAverage()}, {DateTime.UtcNow:u}, {Machine.GcMode()}");
if (options.Store)
{
    StoreBench.Run(options.StoreFlows, options.Repeats);
    Console.WriteLine($"peak_working_set_mb: {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0}");
    return 0;
}
if (options.Scale)
{
    ScaleBench.Run(options);
    return 0;
}
if (options.GrpcOnly)
{
    GrpcBench.Run(Inputs.Simulator(), options.GrpcFlows, options.Repeats);
    Console.WriteLine($"# load average at the end {Machine.LoadAverage()}");
    return 0;
}
GeneratorBench.Run(options.Repeats);
var inputs = Inputs.Load(options);
if (options.Replay) ReplayBench.Run(inputs, options);
if (options.ReplayOnly)
{
    Console.WriteLine($"# load average at the end {Machine.LoadAverage()}");
    return 0;
}
// The store's ring filled once before timing: its blocks are then reused, as in a FlowWatch that has run a while.
var steady = FlowWatch.Store.FlowStoreOptions.Default.Capacity + 400_000L;
foreach (var input in inputs)
{
    Console.WriteLine($"# input {input.Name}: {input.Messages.Count:N0} distinct messages, {input.AverageBytes:F0} bytes each on average, {options.Flows:N0} flows per measurement, {options.Repeats} runs");
    Console.WriteLine($"# load average {Machine.LoadAverage()}; shared string pool {FlowWatch.Flows.StringPool.Shared.Count:N0} entries, {FlowWatch.Flows.StringPool.Shared.Overflow:N0} overflowed; label-set pool {FlowWatch.Flows.EndpointLabels.PoolOverflow:N0} overflowed");
    var baseline = Measure.Run($"{input.Name}.baseline_generated_parser", options, input, Contenders.GeneratedParser);
    Measure.Run($"{input.Name}.wire_decoder_only", options, input, Contenders.WireDecoderOnly);
    var full = Measure.Run($"{input.Name}.flowwatch_full_pipeline", options, input, Contenders.FullPipeline, steady);
    Console.WriteLine($"{input.Name}.ratio_full_pipeline_to_baseline: {full.FlowsPerSecond / baseline.FlowsPerSecond:F2}");
    Targets.Record($"{input.Name}.ratio_full_pipeline_to_baseline", full.FlowsPerSecond / baseline.FlowsPerSecond);
    Targets.Record($"{input.Name}.flowwatch_full_pipeline.flows_per_second", full.FlowsPerSecond);
    Targets.Record($"{input.Name}.flowwatch_full_pipeline.allocated_bytes_per_flow", full.AllocatedBytesPerFlow);
    Console.WriteLine($"{input.Name}.ratio_full_pipeline_to_baseline_per_cpu_second: {full.FlowsPerCpuSecond / baseline.FlowsPerCpuSecond:F2}");
    Console.WriteLine($"{input.Name}.ratio_full_pipeline_to_baseline_range: {full.MinFlowsPerSecond / baseline.FlowsPerSecond:F2}..{full.FlowsPerSecond / baseline.MinFlowsPerSecond:F2}");
    if (options.Stages)
        foreach (var (name, create) in Contenders.Stages())
            Measure.Run($"{input.Name}.{name}", options, input, create, name.Contains("store") ? steady : 400_000);
}
Console.WriteLine($"peak_working_set_mb_in_process_contenders: {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0}");
var filled = StoreBench.Fill(null);
filled = default;
GC.Collect();
if (options.Grpc) GrpcBench.Run(inputs[0], options.GrpcFlows, options.Repeats);
Console.WriteLine($"peak_working_set_mb: {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0}");
if (options.ScaleInFullRun) ScaleBench.RunChild(options.ScaleSecondsGiven ?? 40);
Targets.Print();
Console.WriteLine($"# load average at the end {Machine.LoadAverage()}");
return 0;
