namespace FlowWatch.Api;

/// <summary>How much of the process the query API may take, so that ingest always keeps the rest.</summary>
/// <remarks>
/// A query first waits for answer memory (<see cref="AnswerMemoryBytes"/>), then for one of
/// <see cref="MaxConcurrent"/> scan slots, both within <see cref="QueueTimeout"/>; past it the client gets
/// 503 with Retry-After, and when <see cref="MaxQueued"/> are already waiting, 429 at once. The scan itself stops
/// after <see cref="MaxScannedRows"/> entries or <see cref="MaxScanTime"/> and returns what it found with
/// <c>truncated: true</c> and a cursor to go on from.
/// </remarks>
public sealed record QueryAdmissionOptions
{
    /// <summary>Queries scanning the store at once. The default is half the cores (at least 1): the other half is ingest's.</summary>
    public int MaxConcurrent { get; init; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Queries that may wait for a slot; beyond it they are refused with 429. The default is 256.</summary>
    public int MaxQueued { get; init; } = 256;

    /// <summary>Longest wait for a slot before 503. The default is 2 seconds.</summary>
    public TimeSpan QueueTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Memory all answers being built or written may hold together. The default is 64 MiB.</summary>
    public long AnswerMemoryBytes { get; init; } = 64L << 20;

    /// <summary>Store entries one query may compare before it returns what it has. The default is 1,000,000.</summary>
    public long MaxScannedRows { get; init; } = 1_000_000;

    /// <summary>Longest one query may scan before it returns what it has. The default is 250 ms.</summary>
    public TimeSpan MaxScanTime { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>What one flow of an answer is reckoned to cost while it is built and written (record, view, JSON).</summary>
    public const int BytesPerFlow = 1024;

    public static QueryAdmissionOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (MaxConcurrent is < 1 or > 1024) throw new ArgumentException($"concurrent queries must be 1..1024, not {MaxConcurrent}", nameof(MaxConcurrent));
        if (MaxQueued is < 0 or > 100_000) throw new ArgumentException($"queued queries must be 0..100000, not {MaxQueued}", nameof(MaxQueued));
        if (QueueTimeout < TimeSpan.Zero || QueueTimeout > TimeSpan.FromMinutes(5))
            throw new ArgumentException($"query queue timeout must be 0..5m, not {QueueTimeout}", nameof(QueueTimeout));
        if (AnswerMemoryBytes < Store.FlowQuery.MaxLimit * (long)BytesPerFlow)
            throw new ArgumentException($"answer memory must hold at least one maximum answer ({Store.FlowQuery.MaxLimit * (long)BytesPerFlow >> 20} MiB), not {AnswerMemoryBytes} bytes", nameof(AnswerMemoryBytes));
        if (MaxScannedRows < 1) throw new ArgumentException($"scanned rows per query must be at least 1, not {MaxScannedRows}", nameof(MaxScannedRows));
        if (MaxScanTime <= TimeSpan.Zero || MaxScanTime > TimeSpan.FromMinutes(1))
            throw new ArgumentException($"scan time per query must be above 0 and at most 1m, not {MaxScanTime}", nameof(MaxScanTime));
    }
}
