using System.Text.Json;
using FlowWatch.Findings;

namespace FlowWatch.Pipeline;

/// <summary>What a restarted FlowWatch needs to resume with no gap and no double count: per-source resume points and open findings.</summary>
/// <param name="Sources">Per flow source (Hubble target), the event time in Unix nanoseconds of the last flow processed.</param>
/// <param name="NewestIds">Per source, the ids of the flows processed at exactly that time, so a resumed stream tells them from ties it has not seen.</param>
public sealed record Checkpoint(DateTimeOffset WrittenAt, IReadOnlyDictionary<string, long> Sources, IReadOnlyList<Finding> OpenFindings,
    IReadOnlyDictionary<string, IReadOnlyList<string>>? NewestIds = null)
{
    // The one JSON style of everything FlowWatch writes: snake_case, RFC 3339 times, enums by name.
    private static readonly JsonSerializerOptions Json = FlowWatch.Api.ApiJson.Indented;

    /// <summary>Writes to a temporary file beside <paramref name="path"/> and renames it over, so a crash never leaves half a file.</summary>
    public void Save(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
            JsonSerializer.Serialize(stream, this, Json);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The checkpoint at <paramref name="path"/>, or null when there is none; a corrupt file is reported, not trusted.</summary>
    public static Checkpoint? Load(string path, Action<string>? warn = null)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<Checkpoint>(stream, Json);
        }
        catch (Exception e) when (e is JsonException or IOException or NotSupportedException)
        {
            warn?.Invoke($"checkpoint {path} is unreadable ({e.Message}); starting without it");
            return null;
        }
    }
}
