using FlowWatch.Findings;

namespace FlowWatch.Pipeline;

/// <summary>Checks a deserialized checkpoint as data: JSON that parses is not yet a checkpoint of this version.</summary>
/// <remarks>System.Text.Json leaves missing members null (<c>{}</c> parses), so every member the runtime
/// dereferences is checked here, once, instead of trusted all over.</remarks>
public static class CheckpointValidator
{
    /// <summary>How far a resume point may lie past the wall clock (clock skew between nodes) before it is discarded.</summary>
    public static readonly TimeSpan FutureTolerance = TimeSpan.FromMinutes(5);

    /// <summary>The first thing that makes <paramref name="c"/> not a checkpoint, or null when it is one.</summary>
    public static string? Problem(Checkpoint? c)
    {
        if (c is null) return "it holds null, not a checkpoint object";
        if (c.Sources is null) return "'sources' is missing";
        if (c.OpenFindings is null) return "'openFindings' is missing";
        foreach (var (source, nanos) in c.Sources)
        {
            if (string.IsNullOrEmpty(source)) return "a source has no name";
            if (nanos <= 0) return $"source '{source}' has resume point {nanos}, not a time after 1970";
        }
        if (c.NewestIds is { } ids)
            foreach (var (source, list) in ids)
                if (list is null || list.Any(id => id is null)) return $"'newestIds' of source '{source}' is not a list of ids";
        if (c.Resume is { } resume)
            foreach (var (source, span) in resume)
            {
                if (span is null || !c.Sources.TryGetValue(source, out var newest)) return $"'resume' names source '{source}', which has no resume point";
                if (span.SinceNanos <= 0 || span.SinceNanos > newest) return $"'resume' of source '{source}' starts at {span.SinceNanos}, not a time after 1970 and at most its resume point";
                if (FlowIdHash.Unpack(span.SeenIds) is null) return $"'resume' of source '{source}' has seen_ids that are not packed id hashes";
            }
        for (var i = 0; i < c.OpenFindings.Count; i++)
            if (FindingProblem(c.OpenFindings[i]) is { } problem) return $"open finding {i}: {problem}";
        return null;
    }

    private static string? FindingProblem(Finding? f)
    {
        if (f is null) return "null";
        if (string.IsNullOrEmpty(f.Id)) return "no id";
        if (!Enum.IsDefined(f.Kind)) return $"unknown kind {(int)f.Kind}";
        if (!Enum.IsDefined(f.Severity)) return $"unknown severity {(int)f.Severity}";
        if (!Enum.IsDefined(f.State)) return $"unknown state {(int)f.State}";
        if (f.Subject is not { } s) return "no subject";
        if (s.Namespace is null || s.Workload is null || s.Pod is null || s.Service is null || s.Ip is null ||
            s.Node is null || s.PeerRange is null || s.OtherPod is null) return "a subject field is null";
        if (f.Evidence is null) return "no evidence";
        if (f.Summary is null) return "no summary";
        if (f.Details is null || f.Details.Any(d => d is null)) return "details are not a list of lines";
        if (f.FirstSeen > f.LastSeen) return "first seen after last seen";
        return null;
    }

    /// <summary>The checkpoint without resume points beyond <paramref name="now"/> plus the tolerance, each reported.</summary>
    public static Checkpoint DropFutureResumePoints(Checkpoint c, DateTimeOffset now, Action<string>? warn)
    {
        var limitNanos = (now + FutureTolerance - DateTimeOffset.UnixEpoch).Ticks * 100;
        var future = c.Sources.Where(s => s.Value > limitNanos).Select(s => s.Key).ToList();
        if (future.Count == 0) return c;
        foreach (var source in future)
            warn?.Invoke($"checkpoint resume point of {source} is {DateTimeOffset.UnixEpoch.AddTicks(c.Sources[source] / 100):O}, " +
                         $"more than {FutureTolerance.TotalMinutes:0} min after now ({now:O}); discarding it and following from now");
        var sources = c.Sources.Where(s => !future.Contains(s.Key)).ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
        var resume = c.Resume?.Where(s => !future.Contains(s.Key)).ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
        return c with { Sources = sources, Resume = resume };
    }
}
