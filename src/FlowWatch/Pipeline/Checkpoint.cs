using System.Text.Json;
using FlowWatch.Findings;

namespace FlowWatch.Pipeline;

/// <summary>What a restarted FlowWatch needs to resume with no gap and no double count: per-source resume points and open findings.</summary>
/// <param name="Sources">Per flow source (Hubble target), the event time in Unix nanoseconds of the last flow processed.</param>
/// <param name="NewestIds">Per source, the ids of the flows processed at exactly that time, so a resumed stream tells them from ties it has not seen.</param>
/// <param name="Resume">Per source, where a restart asks to resume (the newest processed minus the allowed lateness, for a lagging
/// node's flows still on their way) and the hashed ids of the flows processed since then; absent in checkpoints written before
/// it existed, which resume from <paramref name="Sources"/> as they always did.</param>
public sealed record Checkpoint(DateTimeOffset WrittenAt, IReadOnlyDictionary<string, long> Sources, IReadOnlyList<Finding> OpenFindings,
    IReadOnlyDictionary<string, IReadOnlyList<string>>? NewestIds = null, IReadOnlyDictionary<string, ResumeSpan>? Resume = null)
{
    // The one JSON style of everything FlowWatch writes: snake_case, RFC 3339 times, enums by name.
    private static readonly JsonSerializerOptions Json = FlowWatch.Api.ApiJson.Indented;

    /// <summary>Writes to a temporary file beside <paramref name="path"/> and renames it over, so a crash never leaves half a file.</summary>
    public void Save(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $"{TempPrefix(path)}{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
                Serialize(stream);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            // A full disk or a vanished directory must not leave temp files piling up beside the checkpoint.
            try { File.Delete(temp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes this checkpoint's JSON to <paramref name="stream"/>.</summary>
    public void Serialize(Stream stream) => JsonSerializer.Serialize(stream, this, Json);

    /// <summary>Serializes a checkpoint shaped like a real one (a source, its ids and span, an open finding) to nowhere, once,
    /// so the write at shutdown does not pay for building the serializer's metadata and compiling its code.</summary>
    /// <remarks>Measured with FLOWWATCH_STOP_TRACE: the first write of a process cost about 120 ms of CPU and 350 compiled
    /// methods, a third of the whole stop; a later one costs under a millisecond. On a loaded machine that CPU is wall time
    /// inside the one second a stop has.</remarks>
    public static void Prepare()
    {
        if (Interlocked.Exchange(ref _prepared, 1) == 1) return;
        var now = DateTimeOffset.UtcNow;
        var finding = new Finding("prepare", FindingKind.DnsDrops, Severity.Warning, FindingState.Open, new FindingSubject("ns", "workload"),
            new Dictionary<string, long> { ["flows"] = 1 }, now, now, "", [""]) { Cluster = "prepare" };
        var sample = new Checkpoint(now, new Dictionary<string, long> { ["source"] = 1 }, [finding],
            new Dictionary<string, IReadOnlyList<string>> { ["source"] = ["id"] }, new Dictionary<string, ResumeSpan> { ["source"] = new(1, "") });
        JsonSerializer.Serialize(Stream.Null, sample, Json);
    }

    private static int _prepared;

    private static string TempPrefix(string path) => $".{Path.GetFileName(path)}.";

    /// <summary>Deletes temp files a killed writer left beside <paramref name="path"/> (kill -9 between write and rename).</summary>
    public static void RemoveStaleTempFiles(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(dir)) return;
        foreach (var file in Directory.EnumerateFiles(dir, TempPrefix(path) + "*.tmp"))
            try { File.Delete(file); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>The checkpoint at <paramref name="path"/>, or null when there is none; anything that is not a valid
    /// checkpoint is reported in one line and ignored, and resume points in the future are dropped (see <see cref="CheckpointValidator"/>).</summary>
    public static Checkpoint? Load(string path, Action<string>? warn = null, DateTimeOffset? now = null)
    {
        if (!File.Exists(path)) return null;
        Checkpoint? loaded;
        try
        {
            using var stream = File.OpenRead(path);
            loaded = JsonSerializer.Deserialize<Checkpoint>(stream, Json);
        }
        catch (Exception e) when (e is JsonException or IOException or NotSupportedException or UnauthorizedAccessException or ArgumentException)
        {
            warn?.Invoke($"checkpoint {path} is unreadable ({OneLine(e.Message)}); starting without it");
            return null;
        }
        if (CheckpointValidator.Problem(loaded) is { } problem)
        {
            warn?.Invoke($"checkpoint {path} is not a valid checkpoint ({problem}); starting without it");
            return null;
        }
        return CheckpointValidator.DropFutureResumePoints(loaded!, now ?? DateTimeOffset.UtcNow, warn);
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
