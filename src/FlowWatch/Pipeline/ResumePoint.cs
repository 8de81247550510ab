namespace FlowWatch.Pipeline;

/// <summary>Where one flow source resumes after a restart, and which of the resent flows were processed already.</summary>
/// <param name="NewestNanos">Event time of the newest flow processed (Unix ns; 0 for none).</param>
/// <param name="Ids">Ids of the flows processed at exactly <paramref name="NewestNanos"/> (what checkpoints before the resume span kept).</param>
/// <param name="SinceNanos">Where the resumed stream starts: the newest processed minus the allowed lateness (even when that is
/// before the run's first flow: a lagging node's flows delivered after it began are stamped up to that much earlier); equal to
/// <paramref name="NewestNanos"/> for a checkpoint written before the resume span existed.</param>
/// <param name="Seen"><see cref="FlowIdHash"/> of every flow with an id processed at or after <paramref name="SinceNanos"/> (bounded).</param>
public sealed record ResumePoint(long NewestNanos, IReadOnlyList<string> Ids, long SinceNanos, IReadOnlyList<ulong> Seen)
{
    public static ResumePoint None { get; } = new(0, [], 0, []);
}

/// <summary>A source's resume span as the checkpoint stores it (see <see cref="ResumePoint"/>).</summary>
/// <param name="SinceNanos">Where the resumed stream starts (Unix ns).</param>
/// <param name="SeenIds">The processed flows' id hashes since then, packed by <see cref="FlowIdHash.Pack"/>.</param>
public sealed record ResumeSpan(long SinceNanos, string SeenIds);
