using System.Diagnostics;
using System.Text;
using FlowWatch.Detectors;
using FlowWatch.Flows;
using FlowWatch.Flows.Json;
using FlowWatch.Hosting;
using FlowWatch.Hubble.Proto.Observer;
using FlowWatch.Pipeline;
using FlowWatch.Replay;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace FlowWatch.Benchmarks;

/// <summary>
/// Replay of one recording, side by side with Hubble's own CLI: the same file (<c>hubble observe -o jsonpb</c> lines,
/// written to /tmp once) read by <c>hubble observe --input-file F -o jsonpb --all</c> and by FlowWatch: its reader
/// alone, and <c>flowwatch replay</c>'s work (reader, pipeline, every detector). Contenders run back to back in each
/// round, so the other engineers' load on the machine disturbs each round's ratio less than it does the rates.
/// </summary>
public static class ReplayBench
{
    public static void Run(IReadOnlyList<Input> inputs, BenchOptions options)
    {
        foreach (var input in inputs)
        {
            var path = WriteRecording(input, options.ReplayLines);
            var lines = options.ReplayLines;
            Console.WriteLine($"# replay {input.Name}: {path}, {lines:N0} lines, {new FileInfo(path).Length / (double)lines:F0} bytes a line; load average {Machine.LoadAverage()}");
            var hubble = HubblePath();
            if (hubble is null) Console.WriteLine("# replay: ../shared/bin/hubble not found; the hubble contender DID NOT RUN");
            var bytes = File.ReadAllBytes(path);
            var results = new Dictionary<string, List<double>>();
            var cpu = new Dictionary<string, List<double>>();
            void Add(string name, (double Wall, double Cpu) t)
            {
                (results.TryGetValue(name, out var l) ? l : results[name] = []).Add(lines / t.Wall);
                (cpu.TryGetValue(name, out var c) ? c : cpu[name] = []).Add(lines / t.Cpu);
            }
            Time(() => ReaderOnly(path));   // warm-up: JIT, intern tables
            for (var round = 0; round < options.Repeats; round++)
            {
                if (hubble is not null) Add("hubble_observe", Hubble(hubble, path));
                Add("flowwatch_reader", Time(() => ReaderOnly(path)));
                Add("flowwatch_replay", Time(() => Replay(path)));
                Add("json_decoder_only", Time(() => DecodeLines(bytes)));
                Console.WriteLine($"# replay {input.Name} round {round + 1} done, load average {Machine.LoadAverage()}");
            }
            // The former path (Google.Protobuf's JSON parser and the converter) is slow: timed on a tenth of the file.
            var tenth = Math.Max(1, lines / 10);
            var reference = Time(() => ReferenceParser(path, tenth));
            results["reference_google_json_parser"] = [tenth / reference.Wall];
            cpu["reference_google_json_parser"] = [tenth / reference.Cpu];
            foreach (var (name, rates) in results)
            {
                Console.WriteLine($"replay.{input.Name}.{name}.lines_per_second: {rates.Max():F0}");
                if (rates.Count > 1) Console.WriteLine($"replay.{input.Name}.{name}.lines_per_second_min: {rates.Min():F0}");
                Console.WriteLine($"replay.{input.Name}.{name}.lines_per_cpu_second: {cpu[name].Max():F0}");
            }
            if (results.TryGetValue("hubble_observe", out var h))
            {
                Console.WriteLine($"replay.{input.Name}.ratio_replay_to_hubble_observe: {results["flowwatch_replay"].Max() / h.Max():F2}");
                Targets.Record($"replay.{input.Name}.ratio_replay_to_hubble_observe", results["flowwatch_replay"].Max() / h.Max());
                Console.WriteLine($"replay.{input.Name}.ratio_reader_to_hubble_observe: {results["flowwatch_reader"].Max() / h.Max():F2}");
                // Per round: the two back to back, so a burst of load elsewhere hits both.
                var perRound = results["flowwatch_replay"].Zip(h, (f, x) => f / x).ToList();
                Console.WriteLine($"replay.{input.Name}.ratio_replay_to_hubble_observe_per_round: {string.Join(' ', perRound.Select(r => r.ToString("F1")))}");
                // CPU seconds (user + system, every thread) per line: what the other engineers' load disturbs least.
                Console.WriteLine($"replay.{input.Name}.ratio_replay_to_hubble_observe_per_cpu_second: {cpu["flowwatch_replay"].Max() / cpu["hubble_observe"].Max():F2}");
            }
            Console.WriteLine($"replay.{input.Name}.ratio_replay_to_reference_parser: {results["flowwatch_replay"].Max() / results["reference_google_json_parser"][0]:F2}");
        }
    }

    /// <summary>Wall seconds and this process's CPU seconds (every thread, GC included).</summary>
    private static (double Wall, double Cpu) Time(Action run)
    {
        GC.Collect();
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        run();
        watch.Stop();
        process.Refresh();
        return (watch.Elapsed.TotalSeconds, (process.TotalProcessorTime - cpu).TotalSeconds);
    }

    // The shell waits for hubble, then prints its own /proc stat: cutime and cstime are hubble's CPU, in clock ticks.
    private static (double Wall, double Cpu) Hubble(string hubble, string path)
    {
        var script = $"'{hubble}' observe --input-file '{path}' -o jsonpb --all > /dev/null || exit $?; cat /proc/$$/stat";
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", script])
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        })!;
        var stat = process.StandardOutput.ReadToEnd();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        watch.Stop();
        if (process.ExitCode != 0) throw new InvalidOperationException($"hubble observe exited {process.ExitCode}: {errors}");
        // Fields after the command name's closing parenthesis: state is field 3, cutime 16, cstime 17.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = double.Parse(fields[13]) + double.Parse(fields[14]);
        return (watch.Elapsed.TotalSeconds, ticks / 100.0);
    }

    private static long ReaderOnly(string path)
    {
        var reader = new FlowFileReader(new FlowConverter());
        long flows = 0;
        foreach (var item in reader.Read(path, "replay"))
        {
            if (item.Bad is not null) throw new InvalidDataException($"bad line in the benchmark's own recording: {item.Bad}");
            if (item.Flow is not null) flows++;
        }
        return flows;
    }

    // What `flowwatch replay F` does: the reader, the pipeline in event time, every detector.
    private static void Replay(string path)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        using var pipeline = new FlowPipeline(DetectorSet.Create(DetectorSettings.Default), Prometheus.Metrics.WithCustomRegistry(registry));
        var summary = new ReplayRunner(pipeline, new FlowFileReader(new FlowConverter())).Run([path]);
        if (summary.BadLines != 0) throw new InvalidDataException("bad lines in the benchmark's own recording");
    }

    // The decoder's ceiling: lines already split, in memory.
    private static long DecodeLines(byte[] bytes)
    {
        var decoder = new FlowJsonDecoder();
        long sink = 0;
        var rest = bytes.AsSpan();
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf((byte)'\n');
            var line = end < 0 ? rest : rest[..end];
            if (!line.IsEmpty) sink += decoder.Decode(line, "replay").Flow?.DestinationPort ?? 0;
            rest = end < 0 ? default : rest[(end + 1)..];
        }
        return sink;
    }

    private static long ReferenceParser(string path, long lines)
    {
        var parser = new JsonParser(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
        var converter = new FlowConverter();
        long sink = 0;
        foreach (var line in File.ReadLines(path).Take((int)lines))
            sink += converter.Convert(parser.Parse<GetFlowsResponse>(line).Flow, "replay").DestinationPort;
        return sink;
    }

    private static string? HubblePath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FlowWatch.sln"))) dir = dir.Parent;
        if (dir is null) return null;
        foreach (var up in new[] { "..", "../.." })
        {
            var hubble = Path.GetFullPath(Path.Combine(dir.FullName, up, "shared", "bin", "hubble"));
            if (File.Exists(hubble)) return hubble;
        }
        return null;
    }

    /// <summary>The input as <c>hubble observe -o jsonpb</c> lines, passes laid end to end in time; written once and reused.</summary>
    private static string WriteRecording(Input input, long lines)
    {
        var path = Path.Combine(Path.GetTempPath(), $"flowwatch-bench-{input.Name}-{lines}-{input.Messages.Count}.jsonl");
        if (File.Exists(path)) return path;
        var formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true));
        var responses = input.Messages.Select(m => GetFlowsResponse.Parser.ParseFrom(m)).ToList();
        var tmp = path + ".tmp";
        using (var writer = new StreamWriter(tmp, false, new UTF8Encoding(false), 1 << 20))
        {
            for (long i = 0; i < lines; i++)
            {
                var r = responses[(int)(i % responses.Count)];
                var original = r.Flow.Time;
                var shifted = original.Seconds * 1_000_000_000L + original.Nanos + i / responses.Count * input.SpanNanos;
                r.Flow.Time = new Timestamp { Seconds = shifted / 1_000_000_000, Nanos = (int)(shifted % 1_000_000_000) };
                r.Time = r.Flow.Time;
                writer.Write(formatter.Format(r));
                writer.Write('\n');
                r.Flow.Time = original;
            }
        }
        File.Move(tmp, path, overwrite: true);
        return path;
    }
}
